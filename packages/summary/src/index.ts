export { summary, toLayout, fromLayout } from './summary.js';
export { formatSummary } from './format/index.js';
export { SUMMARY_JSON_SCHEMA } from './format/json.js';
export { compareModels, formatComparison, type Comparison, type ComparisonRow } from './compare.js';
export { humanBytes, humanCount } from './format/numbers.js';
export {
  type ModelSummary,
  type SummaryRow,
  type SummaryTotals,
  type StageSummary,
  type SummaryOptions,
  type SummaryColumn,
  type SummaryFormat,
  type ShapeLayout,
  SUMMARY_COLUMNS,
  SUMMARY_FORMATS,
  DEFAULT_COLUMNS,
} from './types.js';
