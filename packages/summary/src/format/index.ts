import { ArgumentError } from '@resnet/core';
import { type ModelSummary, SUMMARY_FORMATS, type SummaryFormat } from '../types.js';
import { formatHtml } from './html.js';
import { formatJson } from './json.js';
import { formatMarkdown } from './markdown.js';
import { formatText } from './text.js';

/**
 * Renders a summary: `text` (torchinfo's table, line for line), `markdown`, `html`
 * (self-contained, inline styles) or `json` (schema `resnet-summary/1`). Rows deeper than the
 * summary's `depth` are left out of every format.
 */
export function formatSummary(s: ModelSummary, format: SummaryFormat = 'text'): string {
  if (s === null || typeof s !== 'object' || !Array.isArray((s as ModelSummary).rows)) {
    throw new ArgumentError('summary', 'a ModelSummary returned by summary()', s);
  }
  switch (format) {
    case 'text':
      return formatText(s);
    case 'markdown':
      return formatMarkdown(s);
    case 'html':
      return formatHtml(s);
    case 'json':
      return formatJson(s);
    default:
      throw new ArgumentError('format', `one of ${SUMMARY_FORMATS.join(', ')}`, format);
  }
}
