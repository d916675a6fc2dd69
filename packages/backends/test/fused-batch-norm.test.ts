import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { runTorch } from '../../../tools/test-support/torch.js';
import { initBackend, registerFusedBatchNorm } from '../src/index.js';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from '../src/kernels/fused-batch-norm.js';
import { relError } from './rel-error.js';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

describe('fused train-mode BatchNorm kernels (WASM SIMD, csrc/bn.c)', () => {
  it('are registered by initBackend for WASM (test/wasm-builds.test.ts checks the module against csrc/)', () => {
    // @resnet/core's tests check that these names are the ones its BatchNorm2d looks for.
    expect(tf.getKernel(BATCH_NORM_TRAIN, 'wasm')).toBeDefined();
  });

  it('match torch’s batch_norm (+ReLU) in train mode: outputs, batch statistics and gradients', () => {
    const [n, h, w, c] = [3, 5, 7, 8];
    for (const relu of [false, true]) {
      const x = tf.add(tf.mul(tf.randomNormal([n, h, w, c], 0, 1, 'float32', 1), 3), 0.5) as tf.Tensor4D;
      const gamma = tf.randomUniform([c], 0.5, 1.5, 'float32', 2) as tf.Tensor1D;
      const beta = tf.randomNormal([c], 0, 1, 'float32', 3) as tf.Tensor1D;
      const dy = tf.randomNormal([n, h, w, c], 0, 1, 'float32', 4) as tf.Tensor4D;
      const before = tf.memory().numTensors;
      const [y, mean, variance] = tf
        .engine()
        .runKernel(BATCH_NORM_TRAIN, { x, gamma, beta }, { eps: 1e-5, relu }) as tf.Tensor[];
      const [dx, dGamma, dBeta] = tf.engine().runKernel(
        BATCH_NORM_TRAIN_GRAD,
        {
          x,
          dy,
          mean: mean as tf.Tensor,
          variance: variance as tf.Tensor,
          gamma,
          ...(relu ? { y: y as tf.Tensor } : {}),
        },
        { eps: 1e-5, relu },
      ) as tf.Tensor[];
      const ref = runTorch<Record<string, number[]>>(
        `x = torch.tensor(np.array(inputs['x'], dtype=np.float32).reshape(${n}, ${h}, ${w}, ${c})).permute(0, 3, 1, 2).requires_grad_()
g = torch.tensor(np.array(inputs['gamma'], dtype=np.float32), requires_grad=True)
b = torch.tensor(np.array(inputs['beta'], dtype=np.float32), requires_grad=True)
rm, rv = torch.zeros(${c}), torch.ones(${c})
y = torch.nn.functional.batch_norm(x, rm, rv, g, b, training=True, momentum=1.0, eps=1e-5)
if inputs['relu']:
    y = torch.relu(y)
dy = torch.tensor(np.array(inputs['dy'], dtype=np.float32).reshape(${n}, ${h}, ${w}, ${c})).permute(0, 3, 1, 2)
y.backward(dy)
outputs['y'] = tolist(y.permute(0, 2, 3, 1))
outputs['mean'] = tolist(rm)
m = ${n * h * w}
outputs['variance'] = tolist(rv * (m - 1) / m)
outputs['dx'] = tolist(x.grad.permute(0, 2, 3, 1))
outputs['dgamma'] = tolist(g.grad)
outputs['dbeta'] = tolist(b.grad)`,
        { x: x.dataSync(), gamma: gamma.dataSync(), beta: beta.dataSync(), dy: dy.dataSync(), relu },
      );
      const ours: Record<string, tf.Tensor> = {
        y: y as tf.Tensor,
        mean: mean as tf.Tensor,
        variance: variance as tf.Tensor,
        dx: dx as tf.Tensor,
        dgamma: dGamma as tf.Tensor,
        dbeta: dBeta as tf.Tensor,
      };
      for (const [name, t] of Object.entries(ours)) {
        expect(relError(t.dataSync(), ref[name] as number[]), `${name}, relu ${relu}`).toBeLessThan(1e-5);
      }
      tf.dispose(Object.values(ours));
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, gamma, beta, dy]);
    }
  });

  it('registers only on a WASM backend whose memory it can use, and refuses a bad backend name', async () => {
    await expect(registerFusedBatchNorm(42 as unknown as string)).rejects.toThrow(/backendName must be the name/);
    expect(await registerFusedBatchNorm('no-such-backend')).toBe(false);
    expect(await registerFusedBatchNorm('wasm')).toBe(true);
  });

  it('refuses what they cannot do (channels not a multiple of 4, int32), naming the shape', () => {
    const x = tf.zeros([2, 3, 3, 6]);
    const p = tf.ones([6]);
    expect(() => tf.engine().runKernel(BATCH_NORM_TRAIN, { x, gamma: p, beta: p }, { eps: 1e-5, relu: false })).toThrow(
      /C a multiple of 4; got float32 \[2, 3, 3, 6\]/,
    );
    tf.dispose([x, p]);
  });
});
