import * as tf from '@tensorflow/tfjs-core';
import { wrapInput } from './wrap-input.js';

/**
 * `Conv2DBackpropFilter` for backends that lack it (tfjs's WASM backend: tfjs issue 8474).
 * dW[i, j] = Σ_{n, y, x} X[n, y·s + i − pad, x·s + j − pad, :]ᵀ · dY[n, y, x, :], computed as
 * one matrix product per kernel offset (kh·kw products of [Cout × M]·[M × Cin], M = N·Ho·Wo),
 * which runs on the backend's fast BatchMatMul.
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
      const { top, bottom, left, right } = info.padInfo;
      const padded =
        top || bottom || left || right
          ? tf.pad(nhwcX, [
              [0, 0],
              [top, bottom],
              [left, right],
              [0, 0],
            ])
          : nhwcX;
      const { batchSize: n, outHeight: ho, outWidth: wo, strideHeight: sh, strideWidth: sw } = info;
      const m = n * ho * wo;
      // dyᵀ [Cout × M] once; then per offset [Cout × M]·[M × Cin]: plain products run fastest on
      // XNNPACK (transposed operands are several times slower), and stride-1 windows are plain slices.
      const dyT = tf.transpose(tf.reshape(nhwcDy, [m, cout]));
      const parts: tf.Tensor[] = [];
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const window =
            sh === 1 && sw === 1
              ? tf.slice(padded, [0, i, j, 0], [n, ho, wo, cin])
              : tf.stridedSlice(
                  padded,
                  [0, i, j, 0],
                  [n, i + (ho - 1) * sh + 1, j + (wo - 1) * sw + 1, cin],
                  [1, sh, sw, 1],
                );
          parts.push(tf.matMul(dyT, tf.reshape(window, [m, cin])));
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
