/**
 * Rich output for the notebooks, through tslab's display API: HTML tables, charts drawn by
 * Observable Plot as SVG on a server-side DOM (linkedom), and images as PNG, so they render
 * without a browser and read on a repository page. Cells import it as `./lib/display`.
 */
import * as Plot from '@observablehq/plot';
import { parseHTML } from 'linkedom';
import { crc32, deflateSync } from 'node:zlib';
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

/** 8-bit pixels, row after row: 3 channels (RGB) or 1 (grey). */
export interface Pixels {
  width: number;
  height: number;
  data: Uint8Array;
  channels?: 1 | 3;
}

/** Shows images side by side, top-aligned on white with 8 pixels between them, as one PNG. */
export function showImages(images: Pixels[]): void {
  const gap = 8;
  const width = images.reduce((w, im) => w + im.width, 0) + gap * (images.length - 1);
  const height = Math.max(...images.map((im) => im.height));
  const data = new Uint8Array(width * height * 3).fill(255);
  let x0 = 0;
  for (const im of images) {
    const c = im.channels ?? 3;
    for (let y = 0; y < im.height; y++)
      for (let x = 0; x < im.width; x++)
        for (let k = 0; k < 3; k++)
          data[(y * width + x0 + x) * 3 + k] = im.data[(y * im.width + x) * c + (c === 3 ? k : 0)] as number;
    x0 += im.width + gap;
  }
  tslab.display.png(encodePng(width, height, data));
}

/** An 8-bit RGB PNG: signature, IHDR, one IDAT (each row behind filter byte 0), IEND. */
function encodePng(width: number, height: number, rgb: Uint8Array): Uint8Array {
  const rows = new Uint8Array(height * (width * 3 + 1));
  for (let y = 0; y < height; y++) rows.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (width * 3 + 1) + 1);
  const chunk = (type: string, body: Uint8Array): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(body.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
    return Buffer.concat([head, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, adaptive filtering, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}
