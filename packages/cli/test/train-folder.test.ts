import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpyFile } from '@resnet/core/node';
import { readCheckpointWeights, writeFashionMnistFolder } from '@resnet/train/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resnet } from './helpers.js';

// `resnet train --data DIR` as a user runs it, on real images: Fashion-MNIST classes written out as
// PNG folders. Runs are a few steps long; the transfer experiment (docs/guide/training.md) is the
// long version.
let dir: string;
const last = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop() as string);
const FOLDER = ['--arch', 'resnet20', '--image-size', '32', '--batch', '8', '--epochs', '1', '--backend', 'wasm'];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'resnet-train-folder-'));
  writeFashionMnistFolder(join(dir, 'three'), { classes: [0, 1, 2], perClass: 8 });
  writeFashionMnistFolder(join(dir, 'three-val'), { classes: [0, 1, 2], perClass: 4, split: 'test' });
  writeFashionMnistFolder(join(dir, 'two'), { classes: [7, 9], perClass: 10 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('resnet train --data DIR', () => {
  it('trains on an image folder; --json ends with valAccuracy and the checkpoint, which keeps class names and transforms', async () => {
    const ckpt = join(dir, 'run-three');
    const r = await resnet(
      'train',
      ...FOLDER,
      '--data',
      join(dir, 'three'),
      '--val-data',
      join(dir, 'three-val'),
      '--checkpoint',
      ckpt,
      '--json',
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/3 classes \(Pullover, T-shirt-top, Trouser\), 24 images and 12 validation images/);
    expect(r.stderr).toMatch(/normalisation: ImageNet's mean .*training from scratch/);
    const out = last(r.stdout);
    expect(out.classes).toEqual(['Pullover', 'T-shirt-top', 'Trouser']);
    expect([out.trainImages, out.valImages, out.imageSize]).toEqual([24, 12, 32]);
    expect(out.valAccuracy).toBeGreaterThanOrEqual(0);
    expect(out.valAccuracy).toBeLessThanOrEqual(1);
    expect(out.checkpoint).toBe(join(ckpt, 'checkpoint.safetensors'));
    expect(out.testAccuracy).toBeUndefined();
    const saved = readCheckpointWeights(out.checkpoint);
    expect(saved.classifier).toEqual({
      arch: 'resnet20',
      classes: ['Pullover', 'T-shirt-top', 'Trouser'],
      inputChannels: 3,
      transforms: {
        resizeSize: 36,
        cropSize: 32,
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
        interpolation: 'bilinear',
      },
      data: 'image-folder',
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
    });
    expect(saved.stateDict.get('fc.weight')?.shape).toEqual([3, 64]);

    // The checkpoint classifies with its class names and its own transforms (resize 36, crop 32).
    const image = join(dir, 'three-val', 'Trouser', readdirSync(join(dir, 'three-val', 'Trouser'))[0] as string);
    const c = await resnet(
      'classify',
      image,
      '--arch',
      'resnet20',
      '--weights',
      out.checkpoint,
      '--topk',
      '3',
      '--json',
    );
    expect(c.code, c.stderr).toBe(0);
    const [row] = last(c.stdout);
    expect(row.image).toBe(image);
    expect(row.top.map((p: { label: string }) => p.label).sort()).toEqual(['Pullover', 'T-shirt-top', 'Trouser']);
    expect(row.top.map((p: { index: number; label: string }) => out.classes[p.index] === p.label)).toEqual([
      true,
      true,
      true,
    ]);
    expect(row.top.reduce((sum: number, p: { probability: number }) => sum + p.probability, 0)).toBeCloseTo(1, 5);
    const x = join(dir, 'x.npy');
    const p = await resnet('preprocess', image, '--arch', 'resnet20', '--weights', out.checkpoint, '--output', x);
    expect(p.code, p.stderr).toBe(0);
    expect((await readNpyFile(x)).shape).toEqual([1, 32, 32, 3]);
    const wrongArch = await resnet('classify', image, '--arch', 'resnet32', '--weights', out.checkpoint);
    expect(wrongArch.code).toBe(1);
    expect(wrongArch.stderr).toMatch(/is a checkpoint of resnet20, not of --arch resnet32: pass --arch resnet20/);

    // Fine-tuning it on two other classes: the head is re-initialised (one line), the backbone frozen.
    const tuned = join(dir, 'run-two');
    const f = await resnet(
      'train',
      ...FOLDER,
      '--data',
      join(dir, 'two'),
      '--val-split',
      '0.2',
      '--weights',
      out.checkpoint,
      '--freeze',
      'backbone',
      '--checkpoint',
      tuned,
    );
    expect(f.code).toBe(0);
    expect(f.stdout).toMatch(/^fc: 3 → 2 classes, re-initialised$/m);
    expect(f.stdout).toMatch(/the weights' own/);
    expect(f.stdout).toMatch(
      /frozen: conv1, bn1, layer1, layer2, layer3 .*19 BatchNorm layers in eval mode\); training fc \(130 values\)/,
    );
    expect(f.stdout).toMatch(/16 to train on, 4 held out for validation: --val-split 0\.2, stratified, seed 0/);
    expect(f.stdout).toMatch(/validation accuracy \d+\.\d\d% .* on 4 images/);
    const after = readCheckpointWeights(join(tuned, 'checkpoint.safetensors'));
    // Frozen: every tensor but the head's is the pretrained one, running statistics included.
    for (const [name, t] of saved.stateDict) {
      if (name.startsWith('fc.')) continue;
      expect(Array.from(after.stateDict.get(name)?.data ?? []), name).toEqual(Array.from(t.data));
    }
    expect(after.classifier?.classes).toEqual(['Ankle boot', 'Sneaker']);
  }, 600_000);

  it('--resume of an image-folder run gives the same weights as not stopping', async () => {
    const args = [...FOLDER, '--epochs', '2', '--data', join(dir, 'two'), '--seed', '3'];
    const straight = join(dir, 'folder-straight');
    expect((await resnet('train', ...args, '--checkpoint', straight)).code).toBe(0);
    const stopped = join(dir, 'folder-stopped');
    expect(
      (await resnet('train', ...args, '--checkpoint', stopped, '--stop-after', '1', '--data-workers', '0')).code,
    ).toBe(0);
    const r = await resnet('train', ...args, '--checkpoint', stopped, '--resume', '--data-workers', '2');
    expect(r.code).toBe(0);
    const a = readCheckpointWeights(join(straight, 'checkpoint.safetensors')).stateDict;
    const b = readCheckpointWeights(join(stopped, 'checkpoint.safetensors')).stateDict;
    for (const [name, t] of a) expect(Array.from(b.get(name)?.data ?? []), name).toEqual(Array.from(t.data));
    const other = await resnet('train', ...args, '--image-size', '28', '--checkpoint', stopped, '--resume');
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/trained with imageSize 32, this run asks for 28/);
  }, 600_000);

  it('unreadable images: named, exit 1, no checkpoint written; with --skip-bad-images left out and counted', async () => {
    const bad = join(dir, 'bad');
    writeFashionMnistFolder(bad, { classes: [3, 4], perClass: 6 });
    writeFileSync(join(bad, 'Coat', 'broken.png'), readFileSync(join(bad, 'Coat', 'train-0000.png')).subarray(0, 60));
    writeFileSync(join(bad, 'Dress', 'photo.webp'), 'RIFF....WEBP');
    const ckpt = join(dir, 'bad-run');
    const refused = await resnet('train', ...FOLDER, '--data', bad, '--checkpoint', ckpt);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/not PNG or JPEG \(Dress[/\\]photo\.webp\).*--skip-bad-images/);
    rmSync(join(bad, 'Dress', 'photo.webp'));
    // One batch of all 13 files, so that the broken one is read.
    const all = ['--arch', 'resnet20', '--image-size', '32', '--batch', '13', '--epochs', '1', '--backend', 'wasm'];
    const broken = await resnet('train', ...all, '--data', bad, '--checkpoint', ckpt);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^resnet train: .*Coat[/\\]broken\.png: .*--skip-bad-images/m);
    expect(existsSync(ckpt)).toBe(false);
    const skipped = await resnet('train', ...all, '--data', bad, '--skip-bad-images', '--json');
    expect(skipped.code).toBe(0);
    expect(skipped.stderr).toMatch(/skipped .*broken\.png: /);
    expect(last(skipped.stdout).skippedImages).toBe(1);
    expect(last(skipped.stdout).checkpoint).toBeNull();
  }, 600_000);

  it('refuses bad folders and options with one line and the right exit code', async () => {
    const cases: [string[], number, RegExp][] = [
      [['--data', join(dir, 'none')], 1, /--data .*none: no such folder; --data takes fashion-mnist or a folder/],
      [['--data', 'cifar10'], 1, /--data cifar10: no such folder/],
      [['--data', join(dir, 'three', 'Trouser')], 1, /has no class folders/],
      [['--data', join(dir, 'three'), '--limit', '10'], 2, /--limit applies to --data fashion-mnist/],
      [['--val-split', '0.2'], 2, /--val-split applies to image folders/],
      [
        ['--data', join(dir, 'three'), '--val-split', '0.2', '--val-data', join(dir, 'three-val')],
        2,
        /pass one of them/,
      ],
      [['--data', join(dir, 'three'), '--val-split', '1.5'], 2, /--val-split expects a number/],
      [['--data', join(dir, 'three'), '--freeze', 'head'], 2, /--freeze expects none, backbone or until:PART/],
      [
        ['--data', join(dir, 'three'), '--freeze', 'until:layer4'],
        1,
        /until:<part> with a part of this model: layer1, layer2, layer3/,
      ],
      [['--data', join(dir, 'three'), '--crop-scale', '0.5'], 2, /--crop-scale expects two numbers/],
      [
        ['--data', join(dir, 'three'), '--weights', join(dir, 'nothing.safetensors')],
        1,
        /weights: expected a NAME \(FASHION_MNIST, DEFAULT\), an http\(s\) URL or an existing file; got .*nothing\.safetensors/,
      ],
      [
        ['--data', join(dir, 'three'), '--weights', 'IMAGENET1K_V1'],
        1,
        /weights: expected one of FASHION_MNIST, DEFAULT for resnet20; got "IMAGENET1K_V1"/,
      ],
    ];
    const empty = join(dir, 'empty');
    mkdirSync(join(empty, 'a'), { recursive: true });
    mkdirSync(join(empty, 'b'), { recursive: true });
    writeFileSync(join(empty, 'a', '1.png'), readFileSync(join(dir, 'two', 'Sneaker', 'train-0000.png')));
    cases.push([['--data', empty], 1, /class folder 'b' of .* has no images/]);
    const single = join(dir, 'single');
    writeFashionMnistFolder(single, { classes: [1], perClass: 3 });
    cases.push([['--data', single], 1, /has one class folder \('Trouser'\): a classifier needs at least 2 classes/]);
    cases.push([
      ['--data', join(dir, 'three'), '--weights', join(dir, 'three', 'Trouser', 'train-0000.png')],
      1,
      /train-0000\.png: not a weights file that can be read: expected a \.pth .* or safetensors/,
    ]);
    for (const [args, code, message] of cases) {
      const r = await resnet('train', '--arch', 'resnet20', '--backend', 'wasm', ...args);
      expect({ args, code: r.code, lines: r.stderr.trim().split('\n').length }).toEqual({ args, code, lines: 1 });
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  }, 600_000);
});
