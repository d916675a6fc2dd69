import { ArgumentError } from '@resnet/core';
import { SUMMARY_FORMATS, type ModelSummary, type SummaryFormat } from '../types.js';
import { formatText } from './text.js';

/**
 * Renders a summary: `text` (torchinfo's table, character for character), `markdown`, `html`
 * (self-contained, inline styles) or `json` (schema `resnet-summary/1`).
 */
export function formatSummary(s: ModelSummary, format: SummaryFormat = 'text'): string {
  if (s === null || typeof s !== 'object' || !Array.isArray((s as ModelSummary).rows)) {
    throw new ArgumentError('summary', 'a ModelSummary returned by summary()', s);
  }
  switch (format) {
    case 'text':
      return formatText(s);
    default:
      throw new ArgumentError('format', `one of ${SUMMARY_FORMATS.join(', ')}`, format);
  }
}
