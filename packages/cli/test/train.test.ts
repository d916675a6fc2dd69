import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensorsFile } from '@resnet/core/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { resnet } from './helpers.js';

// `resnet train` as a user runs it: the built bin in a child process. The ≥70% accuracy run
// (4,000 images, 2 epochs) takes minutes; it is recorded in docs/guide/training.md, and these tests
// train a few steps.
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'resnet-train-cli-'));
});

const SMALL = ['--arch', 'resnet20', '--limit', '20', '--batch', '10', '--test-limit', '20', '--backend', 'wasm'];

describe('resnet train', () => {
  it('--help shows the options and examples', async () => {
    const { code, stdout } = await resnet('train', '--help');
    expect(code).toBe(0);
    expect(stdout).toMatch(/--limit N/);
    expect(stdout).toMatch(/Examples:\n {2}resnet train --arch resnet20 --data fashion-mnist --limit 4000 --epochs 2/);
  });

  it('trains, prints plain lines when not on a terminal, and with --json ends with testAccuracy and trainImagesPerSec', async () => {
    const plain = await resnet('train', ...SMALL, '--epochs', '1');
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/epoch 1\/1: train loss \d/);
    expect(plain.stdout).toMatch(/test accuracy \d+\.\d\d% .* on 20 images/);
    expect(plain.stderr).not.toMatch(/\r/);
    const { code, stdout } = await resnet('train', ...SMALL, '--epochs', '1', '--json');
    expect(code).toBe(0);
    const last = JSON.parse(stdout.trim().split('\n').pop() as string);
    expect(last.testAccuracy).toBeGreaterThanOrEqual(0);
    expect(last.testAccuracy).toBeLessThanOrEqual(1);
    expect(last.trainImagesPerSec).toBeGreaterThan(0);
    expect(last.trainImages).toBe(20);
    expect(last.checkpoint).toBeNull();
    expect(last.valAccuracy).toBeUndefined();
  }, 600_000);

  it('--resume from a checkpoint gives the same weights as not stopping', async () => {
    const straight = join(dir, 'straight');
    expect((await resnet('train', ...SMALL, '--epochs', '2', '--checkpoint', straight)).code).toBe(0);
    // An interrupted run: --stop-after 1 stops after the first epoch's checkpoint.
    const stopped = join(dir, 'stopped');
    const r1 = await resnet('train', ...SMALL, '--epochs', '2', '--checkpoint', stopped, '--stop-after', '1');
    expect(r1.code).toBe(0);
    const r2 = await resnet('train', ...SMALL, '--epochs', '2', '--checkpoint', stopped, '--resume');
    expect(r2.code).toBe(0);
    expect(r2.stdout).toMatch(/resumed .* after epoch 1/);
    const a = readSafetensorsFile(join(straight, 'checkpoint.safetensors')).tensors;
    const b = readSafetensorsFile(join(stopped, 'checkpoint.safetensors')).tensors;
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [name, t] of a) expect(Array.from(b.get(name)?.data ?? []), name).toEqual(Array.from(t.data));
  }, 600_000);

  it('--workers 2 trains data-parallel, reproducibly: resuming gives the same weights as not stopping', async () => {
    const straight = join(dir, 'dp-straight');
    const r = await resnet('train', ...SMALL, '--epochs', '2', '--workers', '2', '--checkpoint', straight, '--json');
    expect(r.code).toBe(0);
    const last = JSON.parse(r.stdout.trim().split('\n').pop() as string);
    expect(last.workers).toBe(2);
    expect(last.trainImages).toBe(20);
    const stopped = join(dir, 'dp-stopped');
    const args = [...SMALL, '--epochs', '2', '--workers', '2', '--checkpoint', stopped];
    expect((await resnet('train', ...args, '--stop-after', '1')).code).toBe(0);
    expect((await resnet('train', ...args, '--resume')).code).toBe(0);
    const a = readSafetensorsFile(join(straight, 'checkpoint.safetensors')).tensors;
    const b = readSafetensorsFile(join(stopped, 'checkpoint.safetensors')).tensors;
    for (const [name, t] of a) expect(Array.from(b.get(name)?.data ?? []), name).toEqual(Array.from(t.data));
    // A different worker count is a different run (BatchNorm statistics per share): refused on resume.
    const other = await resnet('train', ...SMALL, '--epochs', '2', '--checkpoint', stopped, '--resume');
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/trained with workers 2, this run asks for 1/);
    const tooMany = await resnet('train', ...SMALL, '--workers', '11');
    expect(tooMany.code).toBe(2);
    expect(tooMany.stderr).toMatch(/--workers 11 needs --batch of at least 11/);
  }, 600_000);

  it('trains data-parallel on every core by default while each share keeps at least 16 images', async () => {
    const args = ['--arch', 'resnet20', '--limit', '32', '--batch', '32', '--test-limit', '20', '--backend', 'wasm'];
    const r = await resnet('train', ...args, '--epochs', '1', '--json');
    expect(r.code, r.stderr).toBe(0);
    const last = JSON.parse(r.stdout.trim().split('\n').pop() as string);
    expect(last.workers).toBe(Math.min(availableParallelism(), 2));
  }, 600_000);

  it('refuses bad options and checkpoints with one-line errors, overwriting nothing', async () => {
    const usage = await resnet('train', '--resume');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--resume needs --checkpoint DIR/);
    expect((await resnet('train', '--lr', 'fast')).stderr).toMatch(/--lr expects a number/);
    expect((await resnet('train', '--arch', 'resnet21')).code).not.toBe(0);
    expect((await resnet('train', '--data', 'cifar10')).stderr).toMatch(
      /--data cifar10: no such folder; --data takes fashion-mnist or a folder with one subfolder per class/,
    );

    const existing = join(dir, 'existing');
    expect((await resnet('train', ...SMALL, '--epochs', '1', '--checkpoint', existing)).code).toBe(0);
    const file = join(existing, 'checkpoint.safetensors');
    const before = readFileSync(file);
    const mtime = statSync(file).mtimeMs;
    const again = await resnet('train', ...SMALL, '--epochs', '1', '--checkpoint', existing);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists: pass --resume .*nothing was overwritten/);
    const other = await resnet(
      'train',
      ...SMALL,
      '--arch',
      'resnet32',
      '--epochs',
      '2',
      '--checkpoint',
      existing,
      '--resume',
    );
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/does not fit this (run|model)/);
    const otherBatch = await resnet(
      'train',
      ...SMALL,
      '--batch',
      '5',
      '--epochs',
      '2',
      '--checkpoint',
      existing,
      '--resume',
    );
    expect(otherBatch.stderr).toMatch(/trained with batch 10, this run asks for 5/);
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(statSync(file).mtimeMs).toBe(mtime);

    const damaged = join(dir, 'damaged');
    expect((await resnet('train', ...SMALL, '--epochs', '1', '--checkpoint', damaged)).code).toBe(0);
    writeFileSync(join(damaged, 'checkpoint.safetensors'), 'garbage');
    const bad = await resnet('train', ...SMALL, '--epochs', '2', '--checkpoint', damaged, '--resume');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/cannot read checkpoint/);
    expect(readFileSync(join(damaged, 'checkpoint.safetensors'), 'utf8')).toBe('garbage');
    const missing = await resnet('train', ...SMALL, '--checkpoint', join(dir, 'none'), '--resume');
    expect(missing.stderr).toMatch(/no checkpoint at/);
    expect(existsSync(join(dir, 'none'))).toBe(false);
  }, 600_000);
});
