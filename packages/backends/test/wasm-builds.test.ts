import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { KERNELS_WASM_BASE64 } from '../src/kernels/kernels-wasm.js';
import { withSharedMemoryImport } from '../src/kernels/wasm-binary.js';

const pkg = join(import.meta.dirname, '..');

describe('our WASM module (csrc/, Debian clang)', () => {
  it('is what csrc/ builds, in both committed builds (SIMD128 and relaxed SIMD), and its shared-memory variant is what clang links for a shared memory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'resnet-shared-'));
    try {
      const shared = join(dir, 'shared.wasm');
      const r = spawnSync(process.execPath, [join(pkg, 'scripts/build-wasm.mjs'), '--check', '--shared-out', shared], {
        encoding: 'utf8',
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      // tfjs's threaded build gets the module we ship with its memory import declared shared
      // (made at run time): byte for byte what clang and wasm-ld make with -matomics --shared-memory.
      const plain = inflateSync(Buffer.from(KERNELS_WASM_BASE64, 'base64'));
      expect(Buffer.from(withSharedMemoryImport(plain)).equals(readFileSync(shared))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs its relaxed-SIMD build (fused multiply-adds) where the engine validates it, with the results of tfjs’s CPU kernels', () => {
    // Node 20's V8 has relaxed SIMD behind a flag; Node ≥ 22 and Chromium ≥ 114 have it on.
    const script = `
      import * as tf from '@tensorflow/tfjs-core';
      import { initBackend, setConvolutionPath, wasmKernelInfo } from '${join(pkg, 'dist/index.js')}';
      await initBackend({ prefer: 'wasm' });
      const x = tf.randomNormal([2, 20, 20, 24], 0, 1, 'float32', 1);
      const w = tf.randomNormal([3, 3, 24, 40], 0, 0.1, 'float32', 2);
      const p = tf.randomNormal([1, 1, 24, 40], 0, 0.2, 'float32', 3);
      const run = () => [tf.conv2d(x, w, 1, 'same'), tf.conv2d(x, p, 2, 'valid')].map((t) => Array.from(t.dataSync()));
      const ours = run();
      await initBackend({ prefer: 'cpu' });
      const cpu = run();
      const rel = (a, b) => Math.max(...a.map((v, i) => Math.abs(v - b[i]))) / Math.max(...b.map(Math.abs));
      console.log(JSON.stringify({ info: wasmKernelInfo(), errors: ours.map((o, i) => rel(o, cpu[i])) }));
    `;
    const r = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      cwd: pkg,
    });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout.trim().split('\n').pop() as string) as {
      info: { relaxedSimd: boolean };
      errors: number[];
    };
    expect(out.info.relaxedSimd).toBe(true);
    for (const e of out.errors) expect(e).toBeLessThan(1e-5);
  });
});
