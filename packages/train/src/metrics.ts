import { ArgumentError } from '@resnet/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Counts of correct predictions in a batch: an example is top-k correct when its label is among
 * the k largest logits (ties broken toward the lower class index, as torch's topk on CPU).
 */
export function countCorrect(logits: tf.Tensor, labels: Int32Array, ks: readonly number[] = [1, 5]): number[] {
  if (!(logits instanceof tf.Tensor) || logits.rank !== 2)
    throw new ArgumentError('logits', 'a rank-2 tensor [batch, classes]', logits);
  const [batch, classes] = logits.shape as [number, number];
  if (!(labels instanceof Int32Array) || labels.length !== batch) {
    throw new ArgumentError('labels', `an Int32Array of ${batch} class indices`, labels);
  }
  const values = logits.dataSync();
  const counts = ks.map(() => 0);
  for (let i = 0; i < batch; i++) {
    const label = labels[i] as number;
    const target = values[i * classes + label] as number;
    // Rank of the label: classes scoring higher, or equal with a lower index.
    let rank = 0;
    for (let c = 0; c < classes; c++) {
      const v = values[i * classes + c] as number;
      if (v > target || (v === target && c < label)) rank++;
    }
    ks.forEach((k, j) => {
      if (rank < k) counts[j] = (counts[j] as number) + 1;
    });
  }
  return counts;
}

/** Running averages of loss and top-1/top-5 accuracy over an epoch. */
export class Metrics {
  private lossSum = 0;
  private correct1 = 0;
  private correct5 = 0;
  private n = 0;

  /** Adds a batch: its mean loss, its size and its correct counts. */
  add(meanLoss: number, size: number, top1: number, top5: number): void {
    this.lossSum += meanLoss * size;
    this.correct1 += top1;
    this.correct5 += top5;
    this.n += size;
  }

  get count(): number {
    return this.n;
  }

  /** Mean loss, top-1 and top-5 accuracy (fractions) so far. */
  summary(): MetricsSummary {
    const n = Math.max(this.n, 1);
    return { loss: this.lossSum / n, top1: this.correct1 / n, top5: this.correct5 / n, count: this.n };
  }
}

export interface MetricsSummary {
  loss: number;
  top1: number;
  top5: number;
  count: number;
}
