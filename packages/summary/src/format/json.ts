import type { ModelSummary } from '../types.js';
import { visibleRows } from './cells.js';

/** The `schema` field of every JSON summary; bumped on any incompatible change. */
export const SUMMARY_JSON_SCHEMA = 'resnet-summary/1';

/** The JSON document of a summary (schema `resnet-summary/1`, documented in the README). */
export function summaryDocument(s: ModelSummary): Record<string, unknown> {
  return {
    schema: SUMMARY_JSON_SCHEMA,
    name: s.name,
    layout: s.layout,
    inputShape: s.inputShape,
    outputShape: s.outputShape,
    depth: s.depth,
    columns: s.columns,
    elementBytes: s.elementBytes,
    totals: s.totals,
    stages: s.stages,
    weightedDepth: s.weightedDepth,
    receptiveField: s.receptiveField,
    rows: visibleRows(s),
  };
}

export function formatJson(s: ModelSummary): string {
  return JSON.stringify(summaryDocument(s), null, 2);
}
