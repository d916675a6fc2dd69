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
  /** Set for a weight gradient (Conv2DBackpropFilter) of a convolution of this shape. */
  gradient?: 'filter';
  /** A forward convolution recorded for a gradient (training): its output's signs set ReLU masks. */
  recorded?: boolean;
}

/** One rule: the first whose conditions hold picks the path. */
export interface ConvRule {
  path: ConvPath;
  /** Filter size and stride the rule is for (default: any). */
  kernel?: [number, number];
  stride?: [number, number];
  /** Smallest input channel count for which the rule was measured to win. */
  minChannels?: number;
  /** Smallest number of output pixels (batch · height · width). */
  minPixels?: number;
  /**
   * Largest cin·cout: a Winograd filter is kept transformed for the weight's life, (m+2)²/9 times
   * its size; these bounds keep ResNet-50's under a third of its weights.
   */
  maxFilter?: number;
  /** A rule for weight gradients (else for forward convolutions and input gradients). */
  gradient?: 'filter';
  /** False: not for forward convolutions recorded for a gradient. */
  recorded?: false;
  /** Threads the rule holds for (default: any). */
  threads?: number;
  /** Why, in one line (the measurement behind it). */
  reason: string;
}

/**
 * Winograd's rounding: F(4×4, 3×3) errs by ≈3e-6 of the output's scale, F(2×2, 3×3) by ≈2e-7,
 * below a direct sum's 4e-7–2e-6 (XNNPACK's and our matrix product's; bench/kernels.mjs
 * --accuracy). In a forward pass recorded for training, outputs near zero that change sign make a
 * following ReLU pass or block a different set of gradients: with F(4×4) ResNet-20's parameter
 * gradients moved 0.14 of their scale from torch's, with F(2×2) 2.7e-5 and with direct sums 2.3e-5
 * (packages/train/test/torch-parity.test.ts). So recorded forward convolutions take F(2×2);
 * inference, input and weight gradients (no ReLU mask follows them within the step) take F(4×4).
 */
export const CONV_RULES: readonly ConvRule[] = [
  {
    path: 'winograd4',
    kernel: [3, 3],
    stride: [1, 1],
    minChannels: 8,
    minPixels: 128,
    maxFilter: 128 * 128,
    recorded: false,
    reason: '3×3 stride 1: F(4×4, 3×3) does 4× fewer multiplications (0.26–0.43× XNNPACK on ResNet-18/20/50)',
  },
  {
    path: 'winograd2',
    kernel: [3, 3],
    stride: [1, 1],
    minChannels: 8,
    maxFilter: 256 * 256,
    reason:
      '3×3 stride 1 on few pixels, 256 channels or recorded for training: F(2×2, 3×3), as accurate as a direct sum, its filter 1.8× the weights (F(4×4): 4×), 0.45–0.65× XNNPACK',
  },
  {
    path: 'gemm',
    minChannels: 8,
    reason:
      'any other dense convolution (1×1, strided, 7×7; 3×3 at 512 channels, whose Winograd filter would hold 17 MB each): 0.6–0.95× XNNPACK',
  },
  {
    path: 'winograd4',
    gradient: 'filter',
    kernel: [3, 3],
    stride: [1, 1],
    reason: '3×3 stride-1 weight gradients: F(3×3, 4×4) over the tiles of dy, 0.18–0.25× XNNPACK (ResNet-20)',
  },
  {
    path: 'gemm',
    gradient: 'filter',
    reason: 'weight gradients: blocked kernel over N·H·W, 0.33–0.49× the XNNPACK convolution it replaces',
  },
];

/** Whether `path` can compute a convolution of this shape at all. */
export function canRun(path: ConvPath, s: ConvShape): boolean {
  switch (path) {
    case 'winograd4':
    case 'winograd2':
      // Weight gradients only by F(3×3, 4×4): F(3×3, 2×2) was never faster.
      return (
        (path === 'winograd4' || s.gradient === undefined) &&
        s.kernelHeight === 3 &&
        s.kernelWidth === 3 &&
        s.strideHeight === 1 &&
        s.strideWidth === 1
      );
    case 'gemm':
      return s.strideHeight === s.strideWidth || s.gradient === undefined;
    case 'tfjs':
      return true;
  }
}

/** Output pixels of a stride-s convolution with 'same'-like padding (what ResNet uses). */
function outputPixels(s: ConvShape): number {
  return s.batch * Math.ceil(s.inHeight / s.strideHeight) * Math.ceil(s.inWidth / s.strideWidth);
}

/** The path for a shape: `only` when it can run it (else tfjs), or the first rule that holds. */
export function chooseConvPath(s: ConvShape, threads: number, only?: ConvPath): ConvPath {
  if (only) return canRun(only, s) ? only : 'tfjs';
  for (const rule of CONV_RULES) {
    if (rule.gradient !== s.gradient) continue;
    if (rule.recorded === false && s.recorded) continue;
    if (rule.kernel && (rule.kernel[0] !== s.kernelHeight || rule.kernel[1] !== s.kernelWidth)) continue;
    if (rule.stride && (rule.stride[0] !== s.strideHeight || rule.stride[1] !== s.strideWidth)) continue;
    if (rule.minChannels !== undefined && s.inChannels < rule.minChannels) continue;
    if (rule.minPixels !== undefined && outputPixels(s) < rule.minPixels) continue;
    if (rule.maxFilter !== undefined && s.inChannels * s.outChannels > rule.maxFilter) continue;
    if (rule.threads !== undefined && rule.threads !== threads) continue;
    if (canRun(rule.path, s)) return rule.path;
  }
  return 'tfjs';
}
