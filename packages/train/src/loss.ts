import { ArgumentError, numberInRange } from '@resnet/core';
import * as tf from '@tensorflow/tfjs-core';

export interface CrossEntropyOptions {
  /** torch's `label_smoothing`: the target mixes the one-hot label (1 − ε) with uniform (ε). Default 0. */
  labelSmoothing?: number;
}

/**
 * Softmax cross-entropy of `logits` [batch, classes] against integer `labels` [batch], averaged
 * over the batch: torch's `F.cross_entropy(logits, labels, label_smoothing=ε)`, i.e.
 * (1 − ε)·(−log p_label) + ε·mean_k(−log p_k). Labels are int32 class indices in [0, classes).
 */
export function crossEntropy(
  logits: tf.Tensor,
  labels: tf.Tensor | Int32Array,
  options: CrossEntropyOptions = {},
): tf.Scalar {
  if (!(logits instanceof tf.Tensor) || logits.rank !== 2) {
    throw new ArgumentError('logits', 'a rank-2 tensor [batch, classes]', logits);
  }
  const [batch, classes] = logits.shape as [number, number];
  if (batch === 0) throw new ArgumentError('logits', 'a non-empty batch', logits, 'pass at least one example');
  const eps = numberInRange('options.labelSmoothing', options.labelSmoothing ?? 0, 0, 1);
  if (labels instanceof Int32Array) {
    checkLabels(labels, batch, classes);
  } else if (!(labels instanceof tf.Tensor) || labels.rank !== 1 || labels.dtype !== 'int32') {
    throw new ArgumentError('labels', 'an int32 tensor [batch] or an Int32Array of class indices', labels);
  } else if (labels.shape[0] !== batch) {
    throw new ArgumentError(
      'labels',
      `${batch} labels (one per row of logits)`,
      labels,
      'check that images and labels come from the same batch',
    );
  }
  return tf.tidy(() => {
    const y = labels instanceof Int32Array ? tf.tensor1d(labels, 'int32') : labels;
    const logp = tf.logSoftmax(logits);
    const nll = tf.neg(tf.sum(tf.mul(tf.oneHot(y, classes), logp), 1));
    const perExample = eps === 0 ? nll : tf.add(tf.mul(nll, 1 - eps), tf.mul(tf.neg(tf.mean(logp, 1)), eps));
    return tf.mean(perExample) as tf.Scalar;
  });
}

/** Throws unless `labels` holds `batch` integers in [0, classes). */
export function checkLabels(labels: Int32Array, batch: number, classes: number): void {
  if (!(labels instanceof Int32Array)) throw new ArgumentError('labels', 'an Int32Array of class indices', labels);
  if (labels.length !== batch) {
    throw new ArgumentError(
      'labels',
      `${batch} labels (one per example)`,
      `${labels.length} labels`,
      'check that images and labels come from the same batch',
    );
  }
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i] as number;
    if (v < 0 || v >= classes) {
      throw new ArgumentError(
        `labels[${i}]`,
        `a class index in [0, ${classes - 1}]`,
        v,
        'check the number of classes of the model',
      );
    }
  }
}
