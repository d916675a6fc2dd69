import { ArgumentError, type HostTensor, ResNetError } from '@resnet/core';
import * as tf from '@tensorflow/tfjs-core';
import { IMAGENET_CATEGORIES } from '../weights/registry.js';

/** One class of a prediction: its output index, its name and its softmax probability. */
export interface Prediction {
  index: number;
  /** The category's name (`Egyptian cat`); the index as a string when no names are known. */
  label: string;
  probability: number;
}

/** What `decodePredictions` reads: a model's output as a tensor, a host tensor or plain numbers. */
export type Scores = tf.Tensor | HostTensor | ArrayLike<number>;

export interface DecodeOptions {
  /**
   * What the scores are: `'logits'` (default: a softmax turns them into probabilities) or
   * `'probabilities'` (already a softmax's output, as `resnet50_keras` returns them).
   */
  from?: 'logits' | 'probabilities';
}

/**
 * The `topk` most probable classes of each row of `scores`, most probable first, as Keras'
 * `decode_predictions` and tfjs-models' `classify` return them: `[{ index, label, probability }]`.
 * Logits go through a softmax (in float64); ties keep the lower index first. `categories` names the
 * classes (default: ImageNet's 1000 in torchvision's order when there are 1000 classes; otherwise
 * the index is the label). A vector (`[classes]`) gives one list, a batch (`[n, classes]`) one list
 * per row. A tensor is read (`dataSync`), not disposed.
 */
export function decodePredictions(
  scores: tf.Tensor1D | ArrayLike<number>,
  topk?: number,
  categories?: readonly string[] | null,
  options?: DecodeOptions,
): Prediction[];
export function decodePredictions(
  scores: tf.Tensor2D,
  topk?: number,
  categories?: readonly string[] | null,
  options?: DecodeOptions,
): Prediction[][];
export function decodePredictions(
  scores: Scores,
  topk?: number,
  categories?: readonly string[] | null,
  options?: DecodeOptions,
): Prediction[] | Prediction[][];
export function decodePredictions(
  scores: Scores,
  topk = 5,
  categories: readonly string[] | null = null,
  options: DecodeOptions = {},
): Prediction[] | Prediction[][] {
  const { values, shape } = readScores(scores);
  const classes = shape[shape.length - 1] as number;
  const rows = shape.length === 2 ? (shape[0] as number) : 1;
  const from = options?.from ?? 'logits';
  if (from !== 'logits' && from !== 'probabilities') {
    throw new ArgumentError('options.from', "'logits' or 'probabilities'", from);
  }
  const names = checkCategories('categories', categories, classes);
  const k = checkTopk('topk', topk, classes);
  const out: Prediction[][] = [];
  for (let r = 0; r < rows; r++) {
    out.push(topPredictions(values.subarray(r * classes, (r + 1) * classes), k, names, from));
  }
  return shape.length === 2 ? out : (out[0] as Prediction[]);
}

function readScores(scores: Scores): { values: Float64Array; shape: number[] } {
  let shape: number[];
  let data: ArrayLike<number>;
  if (scores instanceof tf.Tensor) {
    if (scores.dtype !== 'float32' && scores.dtype !== 'int32') {
      throw new ArgumentError('scores', 'a float32 tensor of logits or probabilities', `a ${scores.dtype} tensor`);
    }
    shape = scores.shape;
    data = scores.dataSync() as Float32Array;
  } else if (isHostTensor(scores)) {
    shape = [...scores.shape];
    data = scores.data;
  } else if (
    scores !== null &&
    typeof scores === 'object' &&
    typeof (scores as ArrayLike<number>).length === 'number'
  ) {
    shape = [(scores as ArrayLike<number>).length];
    data = scores as ArrayLike<number>;
  } else {
    throw new ArgumentError(
      'scores',
      'logits as a tensor [classes] or [n, classes], a host tensor, or an array of numbers',
      scores,
    );
  }
  if ((shape.length !== 1 && shape.length !== 2) || (shape[shape.length - 1] as number) < 1) {
    throw new ArgumentError(
      'scores',
      'a vector [classes] or a batch [n, classes] of scores',
      `shape [${shape.join(', ')}]`,
      'Pass the output of model.predict (a [n, classes] tensor)',
    );
  }
  const values = Float64Array.from(data as ArrayLike<number>);
  if (values.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
    throw new ResNetError(
      'scores: the model produced NaN or infinite values; check the input (normalised float32 NHWC) and the weights',
    );
  }
  return { values, shape };
}

function isHostTensor(value: unknown): value is HostTensor {
  const v = value as HostTensor | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    Array.isArray(v.shape) &&
    (v.data instanceof Float32Array || v.data instanceof Int32Array)
  );
}

/** `topk`, checked: an integer from 1 to the number of classes. */
export function checkTopk(argument: string, topk: unknown, classes: number): number {
  if (typeof topk !== 'number' || !Number.isInteger(topk) || topk < 1 || topk > classes) {
    throw new ArgumentError(argument, `an integer from 1 to ${classes} (the number of classes)`, topk);
  }
  return topk;
}

/** Category names, checked against the number of classes; ImageNet's for 1000 classes by default. */
export function checkCategories(
  argument: string,
  categories: readonly string[] | null | undefined,
  classes: number,
): readonly string[] | null {
  if (categories === undefined || categories === null) return classes === 1000 ? IMAGENET_CATEGORIES : null;
  if (!Array.isArray(categories) || categories.some((c) => typeof c !== 'string')) {
    throw new ArgumentError(argument, 'an array of class names (strings)', categories);
  }
  if (categories.length !== classes) {
    throw new ArgumentError(
      argument,
      `${classes} class names, one per output`,
      `${categories.length} names`,
      'Pass the names in the order of the model’s outputs',
    );
  }
  return categories;
}

// #region notebook:top-predictions
/** The `k` largest entries of one row as predictions: a softmax first unless they are probabilities. */
function topPredictions(
  row: Float64Array,
  k: number,
  names: readonly string[] | null,
  from: 'logits' | 'probabilities',
): Prediction[] {
  let probabilities = row;
  if (from === 'logits') {
    let max = Number.NEGATIVE_INFINITY;
    for (const v of row) if (v > max) max = v;
    let sum = 0;
    probabilities = row.map((v) => Math.exp(v - max));
    for (const p of probabilities) sum += p;
    for (let i = 0; i < probabilities.length; i++) probabilities[i] = (probabilities[i] as number) / sum;
  }
  const order = Array.from({ length: row.length }, (_, i) => i);
  order.sort((a, b) => (probabilities[b] as number) - (probabilities[a] as number) || a - b);
  return order.slice(0, k).map((index) => ({
    index,
    label: names ? (names[index] as string) : String(index),
    probability: probabilities[index] as number,
  }));
}
// #endregion
