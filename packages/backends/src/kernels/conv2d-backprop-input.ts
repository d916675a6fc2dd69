import * as tf from '@tensorflow/tfjs-core';
import { type ConvGradAttrs, wrapInput } from './wrap-input.js';

/**
 * `Conv2DBackpropInput` (the input gradient of a convolution) as one forward convolution, so that
 * it runs on the backend's fast Conv2D (XNNPACK on WASM) instead of tfjs-wasm's direct loop:
 * dx = correlate(dilate(dy, stride), rot180(W) with in/out channels swapped). dy is dilated by
 * inserting stride − 1 zeros between its elements, then padded by kernel − 1 − padBefore in front
 * and whatever makes the output as large as x behind (cropped when negative).
 */
export const conv2dBackpropInputKernel: tf.KernelFunc = ({ inputs, attrs }) => {
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as ConvGradAttrs;
  const dyt = wrapInput<tf.Rank.R4>(dy);
  const wt = wrapInput<tf.Rank.R4>(filter);
  try {
    return tf.tidy(() => {
      const nhwcDy = dataFormat === 'NCHW' ? tf.transpose(dyt, [0, 2, 3, 1]) : dyt;
      const xShape = (
        dataFormat === 'NCHW' ? [inputShape[0], inputShape[2], inputShape[3], inputShape[1]] : inputShape
      ) as [number, number, number, number];
      const info = tf.backend_util.computeConv2DInfo(
        xShape,
        wt.shape,
        strides,
        1,
        pad,
        dimRoundingMode,
        false,
        'channelsLast',
      );
      const [kh, kw] = wt.shape;
      const { strideHeight: sh, strideWidth: sw, outHeight: ho, outWidth: wo } = info;
      const [n, h, w] = xShape;
      const cout = wt.shape[3];
      let d: tf.Tensor4D = nhwcDy;
      if (sh > 1 || sw > 1) d = dilate(d, sh, sw);
      const dh = (ho - 1) * sh + 1;
      const dw = (wo - 1) * sw + 1;
      const top = kh - 1 - info.padInfo.top;
      const left = kw - 1 - info.padInfo.left;
      const bottom = h + kh - 1 - top - dh;
      const right = w + kw - 1 - left - dw;
      // Negative amounts crop; positive ones become the convolution's own (implicit) padding.
      d = padOrCrop(d, Math.min(0, top), Math.min(0, bottom), Math.min(0, left), Math.min(0, right), n, cout);
      const padding: tf.backend_util.ExplicitPadding = [
        [0, 0],
        [Math.max(0, top), Math.max(0, bottom)],
        [Math.max(0, left), Math.max(0, right)],
        [0, 0],
      ];
      const flipped = tf.transpose(tf.reverse(wt, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
      const dx = tf.conv2d(d, flipped, 1, padding);
      return dataFormat === 'NCHW' ? tf.transpose(dx, [0, 3, 1, 2]) : dx;
    });
  } finally {
    dyt.dispose();
    wt.dispose();
  }
};

/** Inserts s − 1 zeros between neighbouring elements along height and width. */
function dilate(x: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  let t = tf.reshape(x, [n, h, 1, w, 1, c]);
  t = tf.pad(t, [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  t = tf.reshape(t, [n, h * sh, w * sw, c]);
  return tf.slice(t, [0, 0, 0, 0], [n, (h - 1) * sh + 1, (w - 1) * sw + 1, c]) as tf.Tensor4D;
}

/** Pads (positive amounts) or crops (negative amounts) height and width. */
function padOrCrop(x: tf.Tensor4D, top: number, bottom: number, left: number, right: number, n: number, c: number) {
  let t = x;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const [, h, w] = t.shape;
    const y0 = Math.max(0, -top);
    const x0 = Math.max(0, -left);
    t = tf.slice(t, [0, y0, x0, 0], [n, h - y0 - Math.max(0, -bottom), w - x0 - Math.max(0, -right), c]);
  }
  const pt = Math.max(0, top);
  const pb = Math.max(0, bottom);
  const pl = Math.max(0, left);
  const pr = Math.max(0, right);
  return pt || pb || pl || pr
    ? (tf.pad(t, [
        [0, 0],
        [pt, pb],
        [pl, pr],
        [0, 0],
      ]) as tf.Tensor4D)
    : t;
}
