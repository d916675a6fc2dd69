import type { ModelSummary } from '../types.js';
import { caption, layerTable, stageTable, type Table, totalsTable } from './tables.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Escapes text for HTML content and attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

const TABLE = 'border-collapse:collapse;margin:0 0 1em 0;font-size:12px;';
const CELL = 'padding:2px 10px;border-bottom:1px solid #e0e0e0;white-space:nowrap;';
const HEAD = 'padding:4px 10px;border-bottom:2px solid #888;white-space:nowrap;';

/** A table with inline styles only (no stylesheet, no script). */
export function htmlTable(t: Table): string {
  const align = (i: number) => (t.numeric[i] ? 'text-align:right;' : 'text-align:left;');
  const head = t.header.map((h, i) => `<th style="${HEAD}${align(i)}">${escapeHtml(h)}</th>`).join('');
  const body = t.rows
    .map((r) => `<tr>${r.map((c, i) => `<td style="${CELL}${align(i)}">${escapeHtml(c)}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table style="${TABLE}"><thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}

/**
 * Self-contained HTML (inline styles, no scripts, no external resources): for tslab's
 * `display.html`, the docs, or a file opened in a browser.
 */
export function formatHtml(s: ModelSummary): string {
  const font = 'font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:#222;background:#fff;';
  return [
    `<div class="resnet-summary" style="${font}padding:8px;">`,
    `<div style="font-weight:bold;margin:0 0 6px 0;">${escapeHtml(caption(s))}</div>`,
    htmlTable(layerTable(s)),
    htmlTable(totalsTable(s)),
    htmlTable(stageTable(s)),
    '</div>',
  ].join('\n');
}
