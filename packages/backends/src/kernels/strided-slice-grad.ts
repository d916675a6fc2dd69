import * as tf from '@tensorflow/tfjs-core';

/**
 * The gradient of `StridedSlice`, which tfjs-core does not define (every backend fails with
 * "gradient function not found for StridedSlice" when backpropagating through `tf.stridedSlice`,
 * as ResNet-20's option-A shortcut `x[:, ::2, ::2, :]` does). The slice picks, along each axis,
 * the positions begin, begin + stride, ...; its gradient puts dy back at those positions and zero
 * elsewhere. Along an axis with stride s > 1, dy is interleaved with s − 1 zeros (expand, pad,
 * reshape); negative strides are the same after reversing dy. Then it is padded to the input.
 */
export const stridedSliceGradConfig: tf.GradConfig = {
  kernelName: 'StridedSlice',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved as [tf.Tensor];
    const a = attrs as unknown as {
      begin: number[];
      end: number[];
      strides: number[];
      beginMask: number;
      endMask: number;
      ellipsisMask: number;
      newAxisMask: number;
      shrinkAxisMask: number;
    };
    return {
      x: () =>
        tf.tidy(() => {
          const g = dy as tf.Tensor;
          if (a.newAxisMask !== 0) {
            throw new Error(
              'the gradient of stridedSlice with newAxisMask is not supported; add axes with tf.expandDims after slicing instead',
            );
          }
          const info = tf.slice_util.sliceInfo(
            x.shape,
            a.begin,
            a.end,
            a.strides,
            a.beginMask,
            a.endMask,
            a.ellipsisMask,
            a.newAxisMask,
            a.shrinkAxisMask,
          );
          // Positions picked along each input axis (shrunk axes pick one).
          const rank = x.rank;
          const counts = x.shape.map((_, d) => {
            const s = info.strides[d] ?? 1;
            return Math.max(0, Math.ceil(((info.end[d] ?? 0) - (info.begin[d] ?? 0)) / s));
          });
          let t = tf.reshape(g, counts);
          const paddings: [number, number][] = [];
          for (let d = 0; d < rank; d++) {
            const n = x.shape[d] as number;
            const k = counts[d] as number;
            let s = info.strides[d] ?? 1;
            let b = info.begin[d] ?? 0;
            if (k === 0) {
              paddings.push([0, 0]);
              continue;
            }
            if (s < 0) {
              // Positions b, b − |s|, ...: reversed, they ascend from b − (k − 1)|s|.
              t = tf.reverse(t, d);
              s = -s;
              b -= (k - 1) * s;
            }
            let covered = k;
            if (s > 1) {
              const shape = t.shape.slice();
              t = tf.expandDims(t, d + 1);
              const p: [number, number][] = t.shape.map(() => [0, 0]);
              p[d + 1] = [0, s - 1];
              t = tf.pad(t, p);
              shape[d] = k * s;
              t = tf.reshape(t, shape);
              // Keep up to the last picked position: (k − 1)·s + 1 entries, within the input.
              covered = Math.min((k - 1) * s + 1, n - b);
              const begin = t.shape.map(() => 0);
              const size = t.shape.slice();
              size[d] = covered;
              t = tf.slice(t, begin, size);
            }
            paddings.push([b, n - b - covered]);
          }
          return tf.pad(t, paddings);
        }),
    };
  },
};
