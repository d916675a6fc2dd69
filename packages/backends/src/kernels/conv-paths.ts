/**
 * Which kernel runs a convolution of a given shape on the WASM backend: ours (Winograd F(4×4, 3×3)
 * or F(2×2, 3×3), the direct matrix-product kernel) or tfjs's (XNNPACK). The rules are data,
 * decided by measurement (`node bench/kernels.mjs`, ours and XNNPACK interleaved in one process);
 * the table and the measurements are in docs/guide/kernels.md.
 */
export type ConvPath = 'winograd4' | 'winograd2' | 'gemm' | 'tfjs';

/** A convolution's shape, NHWC. */
export interface ConvShape {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outChannels: number;
  kernelHeight: number;
  kernelWidth: number;
  strideHeight: number;
  strideWidth: number;
}

/** One rule: the first whose conditions hold picks the path. */
export interface ConvRule {
  path: ConvPath;
  /** Filter size and stride the rule is for. */
  kernel: [number, number];
  stride: [number, number];
  /** Smallest channel count (in and out) for which the rule was measured to win. */
  minChannels?: number;
  /** Threads the rule holds for (default: any). */
  threads?: number;
  /** Why, in one line (the measurement behind it). */
  reason: string;
}

export const CONV_RULES: readonly ConvRule[] = [
  {
    path: 'winograd4',
    kernel: [3, 3],
    stride: [1, 1],
    reason: '3×3 stride 1: Winograd F(4×4, 3×3) does 4× fewer multiplications',
  },
];

/** Whether `path` can compute a convolution of this shape at all. */
export function canRun(path: ConvPath, s: ConvShape): boolean {
  switch (path) {
    case 'winograd4':
    case 'winograd2':
      return s.kernelHeight === 3 && s.kernelWidth === 3 && s.strideHeight === 1 && s.strideWidth === 1;
    case 'gemm':
      return false;
    case 'tfjs':
      return true;
  }
}

/** The path for a shape: `only` when it can run it (else tfjs), or the first rule that holds. */
export function chooseConvPath(s: ConvShape, threads: number, only?: ConvPath): ConvPath {
  if (only) return canRun(only, s) ? only : 'tfjs';
  for (const rule of CONV_RULES) {
    if (rule.kernel[0] !== s.kernelHeight || rule.kernel[1] !== s.kernelWidth) continue;
    if (rule.stride[0] !== s.strideHeight || rule.stride[1] !== s.strideWidth) continue;
    if (rule.minChannels !== undefined && Math.min(s.inChannels, s.outChannels) < rule.minChannels) continue;
    if (rule.threads !== undefined && rule.threads !== threads) continue;
    if (canRun(rule.path, s)) return rule.path;
  }
  return 'tfjs';
}
