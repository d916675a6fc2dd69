import * as tf from '@tensorflow/tfjs-core';
import { wrapInput } from './wrap-input.js';

/**
 * `Conv2DBackpropFilter` for backends that lack it (tfjs's WASM backend: tfjs issue 8474).
 * dW[i, j] = Σ_{n, y, x} X[n, y·s + i − pad, x·s + j − pad, :]ᵀ · dY[n, y, x, :], computed as
 * one matrix product per kernel offset on the backend's fast BatchMatMul. x is split into stride
 * phases and flattened so that every offset's window is one contiguous block of rows (no strided
 * or 4-D slicing, which tfjs-wasm runs slowly).
 */
export const conv2dBackpropFilterKernel: tf.KernelFunc = ({ inputs, attrs }) => {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as {
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    filterShape: [number, number, number, number];
  };
  const xt = wrapInput<tf.Rank.R4>(x);
  const dyt = wrapInput<tf.Rank.R4>(dy);
  try {
    return tf.tidy(() => {
      const nhwcX = dataFormat === 'NCHW' ? tf.transpose(xt, [0, 2, 3, 1]) : xt;
      const nhwcDy = dataFormat === 'NCHW' ? tf.transpose(dyt, [0, 2, 3, 1]) : dyt;
      const info = tf.backend_util.computeConv2DInfo(
        nhwcX.shape,
        filterShape,
        strides,
        1,
        pad,
        dimRoundingMode,
        false,
        'channelsLast',
      );
      const [kh, kw, cin, cout] = filterShape;
      const { top, left } = info.padInfo;
      const { batchSize: n, outHeight: ho, outWidth: wo, strideHeight: sh, strideWidth: sw } = info;
      const [, h, w] = nhwcX.shape;
      // Pad (and crop) x to the rows and columns the convolution reads, rounded up to the strides.
      const hp = Math.ceil(Math.max((ho - 1) * sh + kh, h + top) / sh) * sh;
      const wp = Math.ceil(Math.max((wo - 1) * sw + kw, w + left) / sw) * sw;
      const padded = tf.pad(nhwcX, [
        [0, 0],
        [top, hp - h - top],
        [left, wp - w - left],
        [0, 0],
      ]);
      // Phases: x[n, y·s + a, x·s + b] = phase(a, b)[n, y, x] on an hq × wq grid.
      const hq = hp / sh;
      const wq = wp / sw;
      const phases =
        sh === 1 && sw === 1
          ? tf.reshape(padded, [1, 1, n * hq * wq, cin])
          : tf.reshape(tf.transpose(tf.reshape(padded, [n, hq, sh, wq, sw, cin]), [2, 4, 0, 1, 3, 5]), [
              sh,
              sw,
              n * hq * wq,
              cin,
            ]);
      // dy on the same grid (zero outside the ho × wo outputs), flattened and transposed once:
      // [Cout × R], R = n·hq·wq. Offset (i, j) reads phase (i mod s, j mod s) shifted by
      // (i div s)·wq + (j div s) rows: a contiguous block, so every product is
      // [Cout × R]·[R × Cin] on a plain slice. Rows read past an image belong to zero dy entries.
      const r = n * hq * wq;
      const dyT = tf.transpose(
        tf.reshape(
          tf.pad(nhwcDy, [
            [0, 0],
            [0, hq - ho],
            [0, wq - wo],
            [0, 0],
          ]),
          [r, cout],
        ),
      );
      const maxShift = Math.floor((kh - 1) / sh) * wq + Math.floor((kw - 1) / sw);
      const flat = tf.pad(phases, [
        [0, 0],
        [0, 0],
        [0, maxShift],
        [0, 0],
      ]);
      const parts: tf.Tensor[] = [];
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const shift = Math.floor(i / sh) * wq + Math.floor(j / sw);
          const window = tf.slice(flat, [i % sh, j % sw, shift, 0], [1, 1, r, cin]);
          parts.push(tf.matMul(dyT, tf.reshape(window, [r, cin])));
        }
      }
      // parts: kh·kw × [Cout × Cin] → [kh, kw, Cin, Cout].
      const stacked = parts.length === 1 ? tf.expandDims(parts[0] as tf.Tensor, 0) : tf.stack(parts);
      return tf.reshape(tf.transpose(stacked, [0, 2, 1]), filterShape);
    });
  } finally {
    xt.dispose();
    dyt.dispose();
  }
};
