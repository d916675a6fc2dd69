import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BackendError, describeBackend, initBackend } from '../src/index.js';

// Runs in a fresh process per file (vitest pool 'forks'); the WASM backend starts once per process.
describe('initBackend in Node', () => {
  it('refuses WASM binaries that are not there, naming the path tried, then starts from a folder that has them', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'no-wasm-'));
    try {
      const err = await initBackend({ prefer: 'wasm', wasmPaths: empty }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BackendError);
      expect((err as Error).message).toMatch(
        /WASM binary not found; tried .*no-wasm-.*tfjs-backend-wasm(-simd)?\.wasm/,
      );
      const map = await initBackend({
        prefer: 'wasm',
        wasmPaths: {
          'tfjs-backend-wasm-simd.wasm': join(empty, 'x.wasm'),
          'tfjs-backend-wasm.wasm': join(empty, 'y.wasm'),
        },
      }).catch((e: unknown) => e);
      expect((map as Error).message).toMatch(/tried .*[xy]\.wasm/);
      expect(
        (
          (await initBackend({ prefer: 'wasm', wasmPaths: 'https://cdn.example/tfjs/' }).catch(
            (e: unknown) => e,
          )) as Error
        ).message,
      ).toMatch(/is a URL; in Node give a folder or file path/);
      // A folder that holds the binaries (as a bundler or an app would copy them) works.
      const installed = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
      for (const f of readdirSync(installed).filter((n) => n.endsWith('.wasm')))
        copyFileSync(join(installed, f), join(empty, f));
      const info = await initBackend({ prefer: 'wasm', wasmPaths: empty });
      expect(info.name).toBe('wasm');
      expect(tf.sum(tf.tensor([1, 2, 3])).dataSync()[0]).toBe(6);
    } finally {
      rmSync(empty, { recursive: true });
    }
  });

  it('falls back from tfjs-node (not installed here) to WASM with SIMD by default', async () => {
    const info = await initBackend();
    expect(info).toMatchObject({ name: 'wasm', runtime: 'node', floatPrecision: 32, threads: 1 });
    // Node 20 runs WASM SIMD, so the SIMD binary is the one chosen.
    expect(info.simd).toBe(true);
    expect(describeBackend()).toEqual(info);
    expect(tf.getBackend()).toBe('wasm');
  });

  it('says when options.threads comes too late (the WASM backend started with 1 thread above)', async () => {
    const warnings: string[] = [];
    const info = await initBackend({ prefer: 'wasm', threads: 4, onWarning: (m) => warnings.push(m) });
    expect(info.threads).toBe(1);
    expect(info.notes).toEqual([
      expect.stringMatching(/started with 1 thread\(s\) before; options.threads 4 applies only to its first start/),
    ]);
    expect(warnings).toEqual([`initBackend: ${info.notes[0]}`]);
  });

  it('registers gradients and the WASM Conv2DBackpropFilter kernel, so convolutions train on WASM', async () => {
    await initBackend({ prefer: 'wasm' });
    const x = tf.randomNormal([2, 7, 7, 3], 0, 1, 'float32', 1);
    const w = tf.variable(tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 2));
    const { grads } = tf.variableGrads(
      () => tf.sum(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'valid')) as tf.Scalar,
      [w],
    );
    const wasmGrad = Array.from((grads[w.name] as tf.Tensor).dataSync());
    // The same gradient on the CPU backend, whose Conv2DBackpropFilter ships with tfjs.
    await initBackend({ prefer: 'cpu' });
    const x2 = tf.tensor(x.dataSync(), x.shape);
    const w2 = tf.variable(tf.tensor(w.dataSync(), w.shape));
    const cpu = tf.variableGrads(
      () => tf.sum(tf.conv2d(x2 as tf.Tensor4D, w2 as tf.Tensor4D, 2, 'valid')) as tf.Scalar,
      [w2],
    );
    const cpuGrad = Array.from((cpu.grads[w2.name] as tf.Tensor).dataSync());
    cpuGrad.forEach((v, i) => {
      expect(Math.abs(v - (wasmGrad[i] as number))).toBeLessThan(1e-4 * Math.max(1, Math.abs(v)));
    });
  });

  it('describes the CPU backend', async () => {
    expect(await initBackend({ prefer: 'cpu' })).toEqual({
      name: 'cpu',
      runtime: 'node',
      simd: false,
      threads: 1,
      floatPrecision: 32,
      notes: [],
    });
  });

  it('explains how to install tfjs-node when it is requested but absent', async () => {
    await expect(initBackend({ prefer: 'tensorflow' })).rejects.toThrow(/pnpm add @tensorflow\/tfjs-node/);
  });

  it('refuses unknown backend names, WebGL in Node and bad options, saying what was expected', async () => {
    await expect(initBackend({ prefer: 'gpu' as never })).rejects.toThrow(
      /unknown backend "gpu"; expected one of tensorflow, wasm, webgl, cpu/,
    );
    await expect(initBackend({ prefer: 'webgl' })).rejects.toThrow(/runs only in a browser/);
    await expect(initBackend({ prefer: [] })).rejects.toThrow(/prefer is empty/);
    await expect(initBackend({ threads: 0 })).rejects.toThrow(/options.threads must be a positive integer.*got 0/);
    await expect(initBackend({ threads: 1.5 })).rejects.toThrow(/got 1.5/);
    await expect(initBackend({ wasmPaths: 42 as never })).rejects.toThrow(/options.wasmPaths must be/);
    await expect(initBackend({ wasmPaths: { 'other.wasm': 'x' } as never })).rejects.toThrow(
      /unknown binary "other.wasm"/,
    );
    await expect(initBackend({ backend: 'wasm' } as never)).rejects.toThrow(/unknown option "backend"/);
    await expect(initBackend(null as never)).rejects.toThrow(/options must be an object/);
  });

  it('falls back along a preference list and says why each one failed when none starts', async () => {
    expect((await initBackend({ prefer: ['webgl', 'cpu'] })).name).toBe('cpu');
    await expect(initBackend({ prefer: ['webgl', 'tensorflow'] })).rejects.toThrow(
      /no backend could start \(webgl: .*runs only in a browser.*; tensorflow: .*pnpm add @tensorflow\/tfjs-node/,
    );
  });
});
