import { ArgumentError, knownKeysOf, optionsObject } from '@resnet/core';
import {
  DEFAULT_COLUMNS,
  type ShapeLayout,
  SUMMARY_COLUMNS,
  type SummaryColumn,
  type SummaryOptions,
} from './types.js';

export interface ResolvedOptions {
  layout: ShapeLayout;
  depth: number;
  columns: SummaryColumn[];
  elementBytes: number;
}

const OPTION_KEYS = ['layout', 'depth', 'columns', 'elementBytes'] as const;

/** Checks summary options and fills in defaults; errors name the option and the accepted values. */
export function resolveOptions(options: SummaryOptions | undefined): ResolvedOptions {
  const o = optionsObject('options', options);
  knownKeysOf('options', o, OPTION_KEYS);
  const layout = o.layout ?? 'nhwc';
  if (layout !== 'nhwc' && layout !== 'nchw') {
    throw new ArgumentError(
      'options.layout',
      "'nhwc' (input [N, H, W, C]) or 'nchw' (input [N, C, H, W], as torch)",
      layout,
    );
  }
  const depth = o.depth ?? 3;
  if (typeof depth !== 'number' || !Number.isInteger(depth) || depth < 0) {
    throw new ArgumentError('options.depth', 'an integer >= 0 (0 shows the model row only; default 3)', depth);
  }
  const columns = resolveColumns('options.columns', o.columns ?? DEFAULT_COLUMNS);
  const elementBytes = o.elementBytes ?? 4;
  if (typeof elementBytes !== 'number' || !Number.isInteger(elementBytes) || elementBytes < 1) {
    throw new ArgumentError('options.elementBytes', 'a positive integer (4 for float32)', elementBytes);
  }
  return { layout, depth, columns, elementBytes };
}

/** A non-empty list of distinct known columns. */
export function resolveColumns(argument: string, value: unknown): SummaryColumn[] {
  const expected = `a non-empty array of distinct columns from ${SUMMARY_COLUMNS.join(', ')}`;
  if (!Array.isArray(value) || value.length === 0) throw new ArgumentError(argument, expected, value);
  value.forEach((c, i) => {
    if (typeof c !== 'string' || !(SUMMARY_COLUMNS as readonly string[]).includes(c)) {
      throw new ArgumentError(`${argument}[${i}]`, `one of ${SUMMARY_COLUMNS.join(', ')}`, c);
    }
    if (value.indexOf(c) !== i) throw new ArgumentError(argument, expected, value, `Remove the repeated '${c}'`);
  });
  return [...value] as SummaryColumn[];
}
