/**
 * Rich output for the notebooks, through tslab's display API: HTML tables, and charts drawn by
 * Observable Plot as SVG on a server-side DOM (linkedom), so they render without a browser and
 * read on a repository page. Cells import it as `./lib/display`.
 */
import * as Plot from '@observablehq/plot';
import { parseHTML } from 'linkedom';
import * as tslab from 'tslab';

/** A table column: the row key, a heading, and how to print the value (default: `String`). */
export interface Column<Row> {
  key: keyof Row & string;
  label?: string;
  format?: (value: Row[keyof Row], row: Row) => string;
  align?: 'left' | 'right';
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ESCAPES[c] as string);
}

/** Builds the table's HTML: values are escaped, numbers align right. */
export function tableHtml<Row extends object>(rows: Row[], columns: Column<Row>[], caption?: string): string {
  const align = (c: Column<Row>, value: unknown) => c.align ?? (typeof value === 'number' ? 'right' : 'left');
  const head = columns.map(
    (c) => `<th style="text-align:${align(c, rows[0]?.[c.key])}">${escapeHtml(c.label ?? c.key)}</th>`,
  );
  const body = rows.map((row) => {
    const cells = columns.map((c) => {
      const value = row[c.key];
      const text = c.format ? c.format(value, row) : String(value);
      return `<td style="text-align:${align(c, value)}">${escapeHtml(text)}</td>`;
    });
    return `<tr>${cells.join('')}</tr>`;
  });
  const title = caption ? `<caption>${escapeHtml(caption)}</caption>` : '';
  return `<table>${title}<thead><tr>${head.join('')}</tr></thead><tbody>${body.join('')}</tbody></table>`;
}

/** Shows rows as an HTML table. */
export function showTable<Row extends object>(rows: Row[], columns: Column<Row>[], caption?: string): void {
  tslab.display.html(tableHtml(rows, columns, caption));
}

/**
 * Draws a chart with Observable Plot and returns it as standalone SVG. Options are Plot's
 * (`marks`, scales, sizes); label lines directly (Plot.text with Plot.selectLast) rather than
 * with a legend, which Plot draws as HTML outside the SVG.
 */
export function chartSvg(options: Plot.PlotOptions): string {
  const { document } = parseHTML('<!DOCTYPE html><html><body></body></html>');
  const chart = Plot.plot({ ...options, document: document as unknown as Plot.PlotOptions['document'] });
  if (chart.tagName.toLowerCase() !== 'svg') {
    throw new Error(
      'chartSvg draws SVG only: drop the legend, title, subtitle and caption options (Plot wraps those in HTML)',
    );
  }
  chart.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  // A standalone SVG has no page to inherit from: give it a background and a text colour.
  chart.setAttribute('style', 'background: white; color: black');
  return chart.outerHTML;
}

/** Shows a Plot chart as an SVG image. */
export function showChart(options: Plot.PlotOptions): void {
  tslab.display.svg(chartSvg(options));
}
