import { ResNetError } from '../errors.js';

/** Formats an NHWC shape for messages, with PyTorch's NCHW order alongside. */
export function formatShape(shape: readonly number[]): string {
  if (shape.length === 4) {
    const [n, h, w, c] = shape;
    return `[${shape.join(', ')}] (NHWC; ${n}×${c}×${h}×${w} NCHW)`;
  }
  return `[${shape.join(', ')}]`;
}

/** Checks an NHWC feature map with `channels` channels (when given). */
export function expectFeatureMap(layer: string, shape: readonly number[], channels?: number): void {
  if (shape.length !== 4) {
    throw new ResNetError(
      `${layer} expects a rank-4 NHWC input [batch, height, width, channels]; got rank ${shape.length} ${formatShape(shape)}`,
    );
  }
  if (shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new ResNetError(`${layer} expects positive sizes; got ${formatShape(shape)}`);
  }
  if (channels !== undefined && shape[3] !== channels) {
    throw new ResNetError(
      `${layer} expects ${channels} input channels (last axis, NHWC); got ${shape[3]} in ${formatShape(shape)}`,
    );
  }
}

/** Output length of a sliding window, as torch computes it (floor, or ceil in ceil mode). */
export function slidingOutputSize(
  layer: string,
  axis: string,
  input: number,
  kernel: number,
  stride: number,
  padding: number,
  dilation: number,
  ceilMode = false,
): number {
  const span = dilation * (kernel - 1) + 1;
  const numerator = input + 2 * padding - span;
  let out = (ceilMode ? Math.ceil(numerator / stride) : Math.floor(numerator / stride)) + 1;
  // torch: in ceil mode the last window must start inside the input or the left padding.
  if (ceilMode && (out - 1) * stride >= input + padding) out--;
  if (numerator < 0 || out < 1) {
    throw new ResNetError(
      `${layer}: input ${axis} ${input} is too small for a window of ${span} with padding ${padding}; ` +
        'use a larger input image',
    );
  }
  return out;
}
