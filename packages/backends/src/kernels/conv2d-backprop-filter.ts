import * as tf from '@tensorflow/tfjs-core';

/**
 * `Conv2DBackpropFilter` for backends that lack it (tfjs's WASM backend: tfjs issue 8474).
 * dW[i, j] = Σ_{n, y, x} X[n, y·s + i − pad, x·s + j − pad, :]ᵀ · dY[n, y, x, :], computed as
 * one matrix product per kernel offset (kh·kw products of [Cin × M]·[M × Cout], M = N·Ho·Wo),
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
  const engine = tf.engine();
  const xt = engine.makeTensorFromTensorInfo(x) as tf.Tensor4D;
  const dyt = engine.makeTensorFromTensorInfo(dy) as tf.Tensor4D;
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
      const dy2d = tf.reshape(nhwcDy, [m, cout]);
      const parts: tf.Tensor[] = [];
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const window = tf.stridedSlice(
            padded,
            [0, i, j, 0],
            [n, i + (ho - 1) * sh + 1, j + (wo - 1) * sw + 1, cin],
            [1, sh, sw, 1],
          );
          parts.push(tf.matMul(tf.reshape(window, [m, cin]), dy2d, true, false));
        }
      }
      return tf.reshape(parts.length === 1 ? (parts[0] as tf.Tensor) : tf.stack(parts), filterShape);
    });
  } finally {
    xt.dispose();
    dyt.dispose();
  }
};
