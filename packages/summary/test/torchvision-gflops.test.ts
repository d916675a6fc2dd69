import { listWeights } from '@resnet/zoo';
import { expect, it } from 'vitest';
import { compareModels } from '../src/index.js';

// torchvision publishes GFLOPS (`_ops`, in @resnet/zoo's weights registry) for one 224×224 image,
// counting a multiply-add as one operation with its own counter and rounding to 3 decimals. Our
// mult-adds (torchinfo's convention, by shape inference) agree within 1 MFLOP (under 0.06%) for every
// checkpoint; the rest is what each counter includes besides convolutions and the linear head.
it('torchvision’s published GFLOPS of every checkpoint are our mult-adds at 224, within 0.001', () => {
  // torchvision's entries (the registry also holds our Fashion-MNIST ResNet-20, measured by us).
  const entries = listWeights().filter((e) => e.source === 'torchvision');
  const archs = [...new Set(entries.map((e) => e.arch))];
  const rows = compareModels(archs, [1, 3, 224, 224], { layout: 'nchw' }).rows;
  const multAdds = new Map(archs.map((a, i) => [a, rows[i]?.multAdds ?? Number.NaN]));
  const far = entries
    .map((e) => [e.torchvision, e.meta.gflops, (multAdds.get(e.arch) as number) / 1e9] as const)
    .filter(([, published, ours]) => !(Math.abs(published - ours) < 0.001));
  expect(far).toEqual([]);
  expect(entries).toHaveLength(17);
});
