import * as tf from '@tensorflow/tfjs-core';

/**
 * A Tensor around a kernel input, for kernels written with tfjs ops. `makeTensorFromTensorInfo`
 * tracks the wrapper without taking a reference on the data, so disposing it would free the
 * caller's tensor: take one first, so that `dispose()` gives it back and frees nothing.
 */
export function wrapInput<R extends tf.Rank>(info: tf.TensorInfo): tf.Tensor<R> {
  const engine = tf.engine();
  (engine.backend as unknown as { incRef(dataId: tf.DataId): void }).incRef(info.dataId);
  return engine.makeTensorFromTensorInfo(info) as tf.Tensor<R>;
}

/** The attributes tfjs passes to Conv2DBackpropInput (with inputShape) and Conv2DBackpropFilter (with filterShape). */
export interface ConvGradAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
  filterShape: [number, number, number, number];
}
