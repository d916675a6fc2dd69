import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { summarize } from '../src/commands/bench.js';
import { resnet } from './helpers.js';

// Tiny runs (small inputs, few runs): these check the command's behaviour, never its speed.
describe('resnet bench', () => {
  it('times the fastest path by default (inference form, a WASM thread per core); --json prints one object last', async () => {
    const r = await resnet('bench', 'resnet18', '--size', '32', '--runs', '2', '--warmup', '1', '--json');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    const cores = availableParallelism();
    expect(lines[0]).toBe(
      `resnet18 at 1×32×32×3 on wasm${cores > 1 ? ` (${cores} threads)` : ''}, 2 runs after 1 warm-up`,
    );
    expect(lines[1]).toMatch(/^config\s+median ms\s+p90 ms\s+img\/s$/);
    expect(lines[2]).toMatch(/^optimised\s+\d+\.\d\s+\d+\.\d\s+\d+\.\d\d$/);
    const result = JSON.parse(lines.at(-1) as string);
    expect(result).toMatchObject({
      arch: 'resnet18',
      config: 'optimized',
      backend: 'wasm',
      batch: 1,
      size: 32,
      workers: 1,
      threads: cores,
      runs: 2,
    });
    expect(result.medianMs).toBeGreaterThan(0);
    expect(result.p90Ms).toBeGreaterThanOrEqual(result.medianMs);
    expect(result.imagesPerSecond).toBeCloseTo(1000 / result.medianMs, 1);
  });

  it('--all runs plain, optimised and a worker pool; --json gives an array, fastest per image first', async () => {
    const r = await resnet(
      'bench',
      'resnet18',
      '--size',
      '32',
      '--batch',
      '2',
      '--runs',
      '1',
      '--warmup',
      '1',
      '--workers',
      '2',
      '--all',
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^optimised\s/m);
    expect(r.stdout).toMatch(/^pool of 2\s/m);
    const results = JSON.parse(r.stdout.trimEnd().split('\n').at(-1) as string) as {
      config: string;
      imagesPerSecond: number;
      workers: number;
    }[];
    expect(results.map((x) => x.config).sort()).toEqual(['optimized', 'plain', 'pool']);
    expect(results.find((x) => x.config === 'pool')?.workers).toBe(2);
    for (let i = 1; i < results.length; i++) {
      expect((results[i - 1] as { imagesPerSecond: number }).imagesPerSecond).toBeGreaterThanOrEqual(
        (results[i] as { imagesPerSecond: number }).imagesPerSecond,
      );
    }
  });

  it('--workers N alone runs the pool; --plain the model itself on the threads asked for', async () => {
    const pool = await resnet(
      'bench',
      'resnet18',
      '--size',
      '32',
      '--batch',
      '2',
      '--runs',
      '1',
      '--warmup',
      '0',
      '--workers',
      '2',
      '--json',
    );
    expect(pool.code, pool.stderr).toBe(0);
    expect(JSON.parse(pool.stdout.trimEnd().split('\n').at(-1) as string)).toMatchObject({
      config: 'pool',
      workers: 2,
      batch: 2,
    });
    const plain = await resnet(
      'bench',
      'resnet18',
      '--size',
      '32',
      '--runs',
      '1',
      '--warmup',
      '0',
      '--plain',
      '--threads',
      '1',
      '--json',
    );
    expect(plain.code, plain.stderr).toBe(0);
    expect(JSON.parse(plain.stdout.trimEnd().split('\n').at(-1) as string)).toMatchObject({
      config: 'plain',
      threads: 1,
    });
  });

  it('has --help with examples', async () => {
    const r = await resnet('bench', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: resnet bench <arch>/);
    expect(r.stdout).toMatch(/Examples:\n {2}resnet bench resnet50/);
  });

  it.each([
    [['bench'], /bench takes 1 argument, got 0/],
    [['bench', 'resnet19'], /arch: expected one of resnet18/],
    [['bench', 'resnet18', '--runs', '0'], /--runs expects an integer from 1 to 100000, got 0/],
    [['bench', 'resnet18', '--batch', 'x'], /--batch expects an integer, got "x"/],
    [['bench', 'resnet18', '--all', '--optimize'], /--all already runs the optimised form/],
    [['bench', 'resnet18', '--plain', '--optimize'], /--plain and --optimize exclude each other/],
    [['bench', 'resnet18', '--backend', 'webgl'], /--backend expects one of/],
  ])('refuses %j with one line', async (args, message) => {
    const r = await resnet(...(args as string[]));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});

describe('summarize', () => {
  it('gives the median and the nearest-rank 90th percentile', () => {
    expect(summarize([5, 1, 3])).toEqual({ median: 3, p90: 5, min: 1 });
    expect(summarize([4, 1, 3, 2])).toEqual({ median: 2.5, p90: 4, min: 1 });
    expect(summarize(Array.from({ length: 10 }, (_, i) => 10 - i))).toEqual({ median: 5.5, p90: 9, min: 1 });
  });
});
