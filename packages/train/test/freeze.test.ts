import { join } from 'node:path';
import { initBackend } from '@resnet/backends';
import { exportStateDict, type HostTensor, type Module, WeightsMismatchError } from '@resnet/core';
import { createModel } from '@resnet/zoo';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTorch } from '../../../tools/test-support/torch.js';
import {
  computeGradients,
  type FreezeSpec,
  freezeModel,
  loadPretrained,
  parseFreezeSpec,
  Rng,
  Sgd,
  trainStep,
} from '../src/index.js';
import { createDataParallel, type DataParallelTrainer } from '../src/node.js';

const SUPPORT = join(import.meta.dirname, '../../../tools/test-support');

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

/** ResNet-20 with BatchNorm γ, β and running statistics away from their initial values. */
function perturbedResnet20(seed: number, numClasses = 10): Module {
  const model = createModel('resnet20', { seed, numClasses }) as unknown as Module;
  const rng = new Rng(seed);
  for (const [name, slot] of model.namedSlots()) {
    const m = /\.(weight|bias|running_mean|running_var)$/.exec(name);
    if (!m || !/bn\d?\.|downsample\.1\./.test(name)) continue;
    const base = m[1] === 'weight' || m[1] === 'running_var' ? 1 : 0;
    const values = Float32Array.from({ length: slot.shape[0] as number }, () => base + (rng.next() - 0.5) * 0.6);
    slot.variable.assign(tf.tensor(values, slot.shape as number[]));
  }
  return model;
}

const asArrays = (state: Map<string, HostTensor>) =>
  Object.fromEntries(
    [...state].map(([n, t]) => [n, { shape: t.shape, data: Array.from(t.data as ArrayLike<number>) }]),
  );

function batch(n: number, seed: number) {
  const rng = new Rng(seed);
  return {
    images: Float32Array.from({ length: n * 16 * 16 * 3 }, () => rng.next() * 2 - 1),
    labels: Int32Array.from({ length: n }, (_, i) => (i * 3 + seed) % 10),
    shape: [n, 16, 16, 3] as [number, number, number, number],
  };
}

// A torch user's freezing: requires_grad_(False) on the frozen parts, all parameters given to SGD
// (torch skips those without a gradient, weight decay included), model.train() then .eval() on the
// frozen parts' BatchNorm layers before each step.
const TORCH_STEPS = `import sys
import torch.nn as nn
import torch.nn.functional as F
sys.path.insert(0, inputs['support'])
from resnet20_torch import ResNet20
net = ResNet20()
dtype = lambda k: np.int64 if 'num_batches' in k else np.float32
net.load_state_dict({k: torch.tensor(np.array(v['data'], dtype=dtype(k)).reshape(v['shape'])) for k, v in inputs['state'].items()})
frozen = inputs['frozenParts']
top = lambda name: name.split('.')[0]
for name, p in net.named_parameters():
    p.requires_grad_(top(name) not in frozen)
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
for b in inputs['batches']:
    net.train()
    for name, m in net.named_modules():
        if isinstance(m, nn.BatchNorm2d) and top(name) in frozen:
            m.eval()
    x = torch.tensor(np.array(b['images'], dtype=np.float32).reshape(b['shape'])).permute(0, 3, 1, 2)
    loss = F.cross_entropy(net(x), torch.tensor(b['labels']))
    opt.zero_grad()
    loss.backward()
    opt.step()
outputs['state'] = {k: tolist(v) for k, v in net.state_dict().items()}`;

describe('freezeModel has torch’s semantics (requires_grad_(False), frozen BatchNorm in eval mode)', () => {
  const cases: [string, FreezeSpec, string[]][] = [
    ['none', 'none', []],
    ['backbone', 'backbone', ['conv1', 'bn1', 'layer1', 'layer2', 'layer3']],
    ['until:layer2', { until: 'layer2' }, ['conv1', 'bn1', 'layer1', 'layer2']],
  ];
  for (const [label, spec, frozenParts] of cases) {
    it(`${label}: after two SGD steps (momentum, weight decay) the same tensors changed, by the same amounts; frozen running statistics untouched`, () => {
      const model = perturbedResnet20(11);
      const before = exportStateDict(model);
      const report = freezeModel(model, spec);
      const top = (name: string) => name.split('.')[0] as string;
      expect(report.frozen.every((n) => frozenParts.includes(top(n)))).toBe(true);
      expect(report.trainable.every((n) => !frozenParts.includes(top(n)))).toBe(true);
      const optimizer = new Sgd(
        model.namedParameters().filter(([, v]) => v.trainable),
        { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 },
      );
      const batches = [batch(6, 1), batch(6, 2)];
      for (const b of batches) trainStep(model, optimizer, b);
      const after = exportStateDict(model);
      const ref = runTorch<{ state: Record<string, number[]> }>(TORCH_STEPS, {
        state: asArrays(before),
        frozenParts,
        batches,
        support: SUPPORT,
      });
      const changed = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).some((v, i) => v !== b[i]);
      const oursChanged: string[] = [];
      const torchChanged: string[] = [];
      let worst = 0;
      let worstName = '';
      for (const [name, t] of after) {
        const initial = before.get(name)?.data as ArrayLike<number>;
        const theirs = ref.state[name] as number[];
        if (changed(t.data, initial)) oursChanged.push(name);
        if (changed(theirs, Array.from(initial))) torchChanged.push(name);
        const scale = Math.max(1e-3, ...theirs.map(Math.abs));
        for (let i = 0; i < theirs.length; i++) {
          const d = Math.abs((t.data[i] as number) - (theirs[i] as number)) / scale;
          if (d > worst) [worst, worstName] = [d, name];
        }
      }
      console.log(
        `${label}: largest difference from torch ${worst.toExponential(2)} (${worstName}, relative to its largest value)`,
      );
      expect(oursChanged).toEqual(torchChanged);
      // Frozen parts: nothing changed, running statistics and batch counters included.
      expect(oursChanged.filter((n) => frozenParts.includes(top(n)))).toEqual([]);
      expect(oursChanged.length).toBeGreaterThan(label === 'backbone' ? 1 : 20);
      // Float32 through two train-mode steps of batches of six (measured: 2.2e-4 for 'none', where
      // every BatchNorm normalises with batch statistics; ~1e-6 with a frozen backbone).
      expect(worst).toBeLessThan(1e-3);
      model.dispose();
      optimizer.dispose();
    }, 120_000);
  }

  it('parses the CLI’s forms and refuses a part the model does not have, listing its stages', () => {
    expect(parseFreezeSpec('none')).toBe('none');
    expect(parseFreezeSpec('backbone')).toBe('backbone');
    expect(parseFreezeSpec('until:layer3')).toEqual({ until: 'layer3' });
    expect(() => parseFreezeSpec('head')).toThrow(/freeze: expected none, backbone or until:<part>/);
    const model = createModel('resnet20', { seed: 1 }) as unknown as Module;
    expect(() => freezeModel(model, { until: 'layer4' })).toThrow(/layer1, layer2, layer3/);
    expect(() => freezeModel(model, { until: 'fc' })).toThrow(/until:fc/);
    const report = freezeModel(model, 'backbone');
    expect(report.trainable).toEqual(['fc.weight', 'fc.bias']);
    expect(report.evalModules).toContain('layer3.2.bn2');
    // Freezing again replaces the previous freeze.
    expect(freezeModel(model, 'none').frozen).toEqual([]);
    model.dispose();
  });

  it('frozen parts get no gradient (the tape does not reach them)', () => {
    const model = perturbedResnet20(2);
    freezeModel(model, { until: 'layer1' });
    const g = computeGradients(model, batch(4, 3));
    expect(Object.keys(g.grads).some((n) => n.startsWith('layer1.') || n.startsWith('conv1'))).toBe(false);
    expect(Object.keys(g.grads)).toContain('layer2.0.conv1.weight');
    tf.dispose([g.logits, ...Object.values(g.grads)]);
    model.dispose();
  });
});

describe('loadPretrained', () => {
  it('loads everything but a head of another size, which keeps its fresh initialisation, and says so', () => {
    const source = perturbedResnet20(5, 10);
    const weights = exportStateDict(source);
    const model = createModel('resnet20', { seed: 9, numClasses: 5 }) as unknown as Module;
    const freshHead = exportStateDict(model).get('fc.weight')?.data;
    const report = loadPretrained(model, weights);
    expect(report.notice).toBe('fc: 10 → 5 classes, re-initialised');
    expect(report.reinitialized).toEqual(['fc.weight', 'fc.bias']);
    const loaded = exportStateDict(model);
    for (const [name, t] of loaded) {
      if (name.startsWith('fc.')) continue;
      expect(Array.from(t.data), name).toEqual(Array.from(weights.get(name)?.data ?? []));
    }
    expect(Array.from(loaded.get('fc.weight')?.data ?? [])).toEqual(Array.from(freshHead ?? []));
    // A head of the same size is loaded, with no notice; unless its classes are known to be others.
    const same = createModel('resnet20', { seed: 9, numClasses: 10 }) as unknown as Module;
    const fresh = exportStateDict(same).get('fc.weight')?.data;
    const digits = Array.from({ length: 10 }, (_, i) => String(i));
    expect(loadPretrained(same, weights, { classes: { weights: digits, model: [...digits] } }).notice).toBeNull();
    expect(Array.from(exportStateDict(same).get('fc.weight')?.data ?? [])).toEqual(
      Array.from(weights.get('fc.weight')?.data ?? []),
    );
    const other = createModel('resnet20', { seed: 9, numClasses: 10 }) as unknown as Module;
    const letters = Array.from({ length: 10 }, (_, i) => String.fromCharCode(97 + i));
    const renamed = loadPretrained(other, weights, { classes: { weights: digits, model: letters } });
    expect(renamed.notice).toBe('fc: 10 classes (0, 1, 2, …) → 10 other classes (a, b, c, …), re-initialised');
    expect(Array.from(exportStateDict(other).get('fc.weight')?.data ?? [])).toEqual(Array.from(fresh ?? []));
    expect(Array.from(exportStateDict(other).get('layer1.0.conv1.weight')?.data ?? [])).toEqual(
      Array.from(weights.get('layer1.0.conv1.weight')?.data ?? []),
    );
    for (const m of [source, model, same, other]) m.dispose();
  });

  it('refuses weights of another architecture or with missing tensors, and loads nothing', () => {
    const model = createModel('resnet20', { seed: 9, numClasses: 5 }) as unknown as Module;
    const before = exportStateDict(model);
    const other = createModel('resnet32', { seed: 1 }) as unknown as Module;
    expect(() => loadPretrained(model, exportStateDict(other))).toThrow(WeightsMismatchError);
    const grey = createModel('resnet20', { seed: 1, inputChannels: 1 }) as unknown as Module;
    expect(() => loadPretrained(model, exportStateDict(grey))).toThrow(
      /conv1\.weight: model \[16, 3, 3, 3\], file \[16, 1, 3, 3\]/,
    );
    const partial = exportStateDict(grey);
    partial.delete('layer1.0.bn1.running_mean');
    expect(() => loadPretrained(model, partial)).toThrow(/missing 1 \(layer1\.0\.bn1\.running_mean\)/);
    for (const [name, t] of exportStateDict(model))
      expect(Array.from(t.data), name).toEqual(Array.from(before.get(name)?.data ?? []));
    for (const m of [model, other, grey]) m.dispose();
  });
});

describe('data-parallel steps with a frozen backbone', () => {
  let dp: DataParallelTrainer;
  afterAll(async () => {
    await dp?.close();
  });

  it('the workers get the frozen weights and BatchNorm statistics once: the step equals one thread’s', async () => {
    dp = await createDataParallel({ replicas: 2, preset: 'resnet20', presetOptions: { numClasses: 10 } });
    const a = perturbedResnet20(4);
    const b = perturbedResnet20(4);
    freezeModel(a, 'backbone');
    freezeModel(b, 'backbone');
    const sgd = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 };
    const optA = new Sgd(
      a.namedParameters().filter(([, v]) => v.trainable),
      sgd,
    );
    const optB = new Sgd(
      b.namedParameters().filter(([, v]) => v.trainable),
      sgd,
    );
    // With every BatchNorm in eval mode the network treats images independently: the
    // size-weighted mean of the two shares' gradients is the whole batch's gradient.
    for (const seed of [1, 2, 3]) {
      const x = batch(7, seed);
      const r = await dp.step(a, optA, x);
      const s = trainStep(b, optB, x);
      expect(r.loss).toBeCloseTo(s.loss, 5);
    }
    const sa = exportStateDict(a);
    let worst = 0;
    for (const [name, t] of exportStateDict(b)) {
      const other = sa.get(name)?.data as ArrayLike<number>;
      const scale = Math.max(1e-3, ...Array.from(t.data as ArrayLike<number>, Math.abs));
      for (let i = 0; i < t.data.length; i++)
        worst = Math.max(worst, Math.abs((t.data[i] as number) - (other[i] as number)) / scale);
    }
    // Float32 sums in another order (two shares), relative to each tensor's largest value.
    expect(worst).toBeLessThan(1e-5);
    for (const m of [a, b]) m.dispose();
    optA.dispose();
    optB.dispose();
  }, 180_000);
});
