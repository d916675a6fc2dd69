import * as tf from '@tensorflow/tfjs-core';
import { SWAP01, TO_CHWN } from './elementwise.js';
import { type ConvGradAttrs, wrapInput } from './wrap-input.js';

/**
 * `Conv2DBackpropFilter` for backends that lack it (tfjs's WASM backend: tfjs issue 8474), as one
 * forward convolution on the backend's fast Conv2D (XNNPACK on WASM):
 *
 *   dW[i, j, c, o] = Σ_{n, y, x} X[n, y·s + i − pad, x·s + j − pad, c] · dY[n, y, x, o]
 *
 * is a convolution whose "batch" is X's channels and whose "channels" are X's batch: the input is
 * Xᵀ [Cin, H, W, N], the filter is dY as [Ho, Wo, N, Cout], the dilation is the stride and the
 * output [Cin, kh, kw, Cout] is dW with two axes swapped. The products then run in XNNPACK's GEMM
 * micro-kernels with a long reduction (N·Ho·Wo), which they handle well, instead of kh·kw narrow
 * matrix products.
 */
export const conv2dBackpropFilterKernel: tf.KernelFunc = ({ inputs, attrs }) => {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as ConvGradAttrs;
  const xt = wrapInput<tf.Rank.R4>(x);
  const dyt = wrapInput<tf.Rank.R4>(dy);
  try {
    return tf.tidy(() => {
      const [kh, kw, cin, cout] = filterShape;
      const [n, h, w] = dataFormat === 'NCHW' ? [xt.shape[0], xt.shape[2], xt.shape[3]] : xt.shape;
      const info = tf.backend_util.computeConv2DInfo(
        [n, h, w, cin],
        filterShape,
        strides,
        1,
        pad,
        dimRoundingMode,
        false,
        'channelsLast',
      );
      const { top, left } = info.padInfo;
      const { outHeight: ho, outWidth: wo, strideHeight: sh, strideWidth: sw } = info;
      // Xᵀ [Cin, H, W, N]: one 2-D transpose, then a transpose that moves rows of N values (much
      // faster on tfjs-wasm than the direct 4-D permutation).
      const backendName = tf.getBackend();
      const fastLayout =
        dataFormat === 'NHWC' &&
        tf.getKernel(TO_CHWN, backendName) !== undefined &&
        tf.getKernel(SWAP01, backendName) !== undefined;
      let xT: tf.Tensor4D;
      if (fastLayout) {
        xT = tf.engine().runKernel(TO_CHWN, { x: xt }) as tf.Tensor4D;
      } else if (dataFormat === 'NCHW') {
        xT = tf.reshape(tf.transpose(tf.reshape(xt, [n, cin * h * w])), [cin, h, w, n]);
      } else {
        const rows = tf.transpose(tf.reshape(xt, [n, h * w * cin])); // [H·W·Cin, N]
        xT = tf.reshape(tf.transpose(tf.reshape(rows, [h * w, cin, n]), [1, 0, 2]), [cin, h, w, n]);
      }
      // dY as a filter [Ho, Wo, N, Cout].
      const filter = fastLayout
        ? (tf.reshape(tf.engine().runKernel(SWAP01, { x: tf.reshape(dyt, [n, ho * wo, cout]) }) as tf.Tensor, [
            ho,
            wo,
            n,
            cout,
          ]) as tf.Tensor4D)
        : dataFormat === 'NCHW'
          ? (tf.transpose(dyt, [2, 3, 0, 1]) as tf.Tensor4D)
          : (tf.transpose(dyt, [1, 2, 0, 3]) as tf.Tensor4D);
      // Rows and columns the convolution reads: pad in front, pad or crop behind so that the
      // output is exactly kh × kw.
      const bottom = (ho - 1) * sh + kh - h - top;
      const right = (wo - 1) * sw + kw - w - left;
      if (bottom < 0 || right < 0) {
        xT = tf.slice(xT, [0, 0, 0, 0], [cin, h + Math.min(0, bottom), w + Math.min(0, right), n]);
      }
      const padding: tf.backend_util.ExplicitPadding = [
        [0, 0],
        [top, Math.max(0, bottom)],
        [left, Math.max(0, right)],
        [0, 0],
      ];
      const out = tf.conv2d(xT, filter, 1, padding, 'NHWC', [sh, sw]); // [Cin, kh, kw, Cout]
      return tf.transpose(out, [1, 2, 0, 3]);
    });
  } finally {
    xt.dispose();
    dyt.dispose();
  }
};
