import { ArgumentError } from '../errors.js';
import type { Module } from '../module.js';

/**
 * Checks a residual block's shortcut options before the block allocates any weight (so a refused
 * block leaks nothing) and returns whether the block adds a residual.
 */
export function checkResidualOptions(
  options: { residual?: boolean; shortcut?: Module | null },
  stride: number,
  inChannels: number,
  outChannels: number,
): boolean {
  const residual = options.residual ?? true;
  if (typeof residual !== 'boolean') throw new ArgumentError('options.residual', 'true or false', options.residual);
  if (!residual && options.shortcut) {
    throw new ArgumentError('options.shortcut', 'no shortcut when residual is false', options.shortcut);
  }
  if (residual && !options.shortcut && (stride !== 1 || inChannels !== outChannels)) {
    throw new ArgumentError(
      'options.shortcut',
      `a shortcut module when the stride (${stride}) is not 1 or channels change (${inChannels} → ${outChannels})`,
      options.shortcut,
      'Pass a ShortcutProjection or a ZeroPadShortcut',
    );
  }
  return residual;
}
