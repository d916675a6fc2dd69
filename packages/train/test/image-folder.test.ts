import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { encodePng } from '@resnet/images';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTorch } from '../../../tools/test-support/torch.js';
import { comparePython, relabelSamples, scanImageFolder, splitSamples } from '../src/node.js';

const dir = mkdtempSync(join(tmpdir(), 'resnet-image-folder-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PNG = encodePng({ width: 2, height: 2, channels: 1, data: Uint8Array.from([0, 64, 128, 255]) });

function tree(root: string, files: string[]): string {
  for (const f of files) {
    mkdirSync(join(root, f, '..'), { recursive: true });
    if (!f.endsWith('/')) writeFileSync(join(root, f), PNG);
    else mkdirSync(join(root, f), { recursive: true });
  }
  return root;
}

/** torchvision 0.14.1's ImageFolder(root): its classes and samples (paths relative to root). */
function torchvisionImageFolder(root: string): { classes: string[]; samples: [string, number][] } {
  const out = runTorch<{ classes: string[]; samples: [string, number][] }>(
    `import os
from torchvision.datasets import ImageFolder
f = ImageFolder(inputs['root'])
outputs['classes'] = f.classes
outputs['samples'] = [[os.path.relpath(p, inputs['root']), c] for p, c in f.samples]`,
    { root },
  );
  return out;
}

describe('scanImageFolder reads a folder as torchvision’s ImageFolder does', () => {
  let root: string;
  beforeAll(() => {
    root = tree(join(dir, 'parity'), [
      'cat/a.png',
      'cat/B.PNG',
      'cat/c.JPG',
      'cat/d.jpeg',
      'cat/.hidden.png',
      'cat/notes.txt',
      'cat/noext',
      'cat/sub/z.png',
      'cat/sub-2/x.png',
      'cat/sub/deeper/y.png',
      'cat/dir.png/inside.png',
      'Dog/1.png',
      'Dog/10.png',
      'Dog/9.png',
      'ébène/e.png',
      'z 10/a.png',
      'z 9/a.png',
      '10/a.png',
      '9/a.png',
      '\uff5e/a.png',
      '\u{1f600}/a.png',
      '.ipynb_checkpoints/a.png',
      'bird/x.webp',
      'bird/y.png',
      'bird/z.BMP',
    ]);
    writeFileSync(join(root, 'root-file.png'), PNG); // not a class
    symlinkSync(join(root, 'Dog'), join(root, 'link-to-dog')); // a link to a folder is a class
    symlinkSync(join(root, 'Dog'), join(root, 'cat', 'linked')); // followed inside a class
    symlinkSync(join(root, 'nowhere.png'), join(root, 'cat', 'broken.png')); // listed by torchvision
  });

  it('the same classes (sorted by code point, hidden and linked folders included) and the same samples in the same order', () => {
    const ours = scanImageFolder(root, { skipUndecodable: true });
    const theirs = torchvisionImageFolder(root);
    expect(ours.classes).toEqual(theirs.classes);
    // Python sorts by code point: U+FF5E before U+1F600 (JavaScript's default sort puts the emoji first).
    expect(ours.classes.indexOf('\uff5e')).toBeLessThan(ours.classes.indexOf('\u{1f600}'));
    const decodable = theirs.samples.filter(([p]) => /\.(png|jpe?g)$/i.test(p));
    expect(ours.samples.map((s) => [relative(root, s.path), s.label])).toEqual(decodable);
    // What we cannot decode (.webp, .bmp) is what torchvision lists beyond that, in its order.
    expect(ours.skipped.map((p) => relative(root, p))).toEqual(
      theirs.samples.filter(([p]) => !/\.(png|jpe?g)$/i.test(p)).map(([p]) => p),
    );
    expect(ours.counts.reduce((a, b) => a + b, 0)).toBe(ours.samples.length);
  });

  it('refuses files it cannot decode unless told to skip them, naming one', () => {
    expect(() => scanImageFolder(root)).toThrow(
      /2 files in .* are not PNG or JPEG \(bird\/x\.webp, \.\.\.\).*resnet train --skip-bad-images/,
    );
  });

  it('comparePython is Python’s str order', () => {
    const names = ['b', 'B', 'é', 'e', '\u{1f600}', '\uff5e', 'a10', 'a9', ''];
    const ref = runTorch<{ sorted: string[] }>(`outputs['sorted'] = sorted(inputs['names'])`, { names });
    expect([...names].sort(comparePython)).toEqual(ref.sorted);
  });
});

describe('scanImageFolder refuses what is not a usable image folder, in one line', () => {
  it('a missing folder, a file, a folder without class folders', () => {
    expect(() => scanImageFolder(join(dir, 'none'))).toThrow(
      /^no folder at .*none: expected a folder with one subfolder per class/,
    );
    writeFileSync(join(dir, 'plain.png'), PNG);
    expect(() => scanImageFolder(join(dir, 'plain.png'))).toThrow(/plain\.png is a file: expected a folder/);
    const flat = tree(join(dir, 'flat'), ['a.png', 'b.png']);
    expect(() => scanImageFolder(flat)).toThrow(/has no class folders: expected a folder with one subfolder per class/);
  });

  it('an empty class (a hidden one said to be a class), a single class', () => {
    const empty = tree(join(dir, 'empty'), ['a/1.png', 'b/readme.txt']);
    expect(() => scanImageFolder(empty)).toThrow(
      /class folder 'b' of .* has no images \(files ending \.jpg, \.jpeg, \.png\)/,
    );
    const hidden = tree(join(dir, 'hidden'), ['a/1.png', 'b/1.png', '.ipynb_checkpoints/']);
    expect(() => scanImageFolder(hidden)).toThrow(/'\.ipynb_checkpoints' .*\(hidden folders are classes too/);
    const single = tree(join(dir, 'single'), ['only/1.png', 'only/2.png']);
    expect(() => scanImageFolder(single)).toThrow(
      /has one class folder \('only'\): a classifier needs at least 2 classes/,
    );
    expect(scanImageFolder(single, { minClasses: 1 }).classes).toEqual(['only']);
  });
});

describe('splitSamples and relabelSamples', () => {
  const samples = Array.from({ length: 103 }, (_, i) => ({
    path: `p${i}`,
    label: i % 3 === 0 ? 0 : i % 3 === 1 ? 1 : 2,
  }));
  samples.push({ path: 'x', label: 3 }, { path: 'y', label: 3 });

  it('holds out round(f·n) of every class (at least one, never all), seeded, keeping the folder order', () => {
    const { train, val } = splitSamples(samples, 0.2, 7);
    const count = (list: typeof samples, label: number) => list.filter((s) => s.label === label).length;
    expect([0, 1, 2, 3].map((c) => count(val, c))).toEqual([7, 7, 7, 1]); // 35·0.2 = 7 (34·0.2 = 6.8 → 7), 2·0.2 → 1
    expect(train.length + val.length).toBe(samples.length);
    expect(new Set([...train, ...val].map((s) => s.path)).size).toBe(samples.length);
    const order = (list: typeof samples) => list.map((s) => samples.indexOf(s));
    expect(order(val)).toEqual([...order(val)].sort((a, b) => a - b));
    expect(splitSamples(samples, 0.2, 7)).toEqual({ train, val });
    expect(splitSamples(samples, 0.2, 8).val).not.toEqual(val);
    expect(() => splitSamples([...samples, { path: 'lonely', label: 4 }], 0.2, 1, ['a', 'b', 'c', 'd', 'e'])).toThrow(
      /e has 1 image: a validation split needs at least 2 per class/,
    );
    expect(() => splitSamples(samples, 1, 1)).toThrow(/fraction: expected a number between 0 and 1/);
  });

  it('labels a validation folder by class name, refusing classes the training data lacks', () => {
    const val = tree(join(dir, 'val'), ['cat/1.png', 'dog/1.png']);
    const folder = scanImageFolder(val);
    expect(relabelSamples(folder, ['bird', 'cat', 'dog']).map((s) => s.label)).toEqual([1, 2]);
    expect(() => relabelSamples(folder, ['cat', 'fish'])).toThrow(
      /class folder 'dog' that the training data does not have/,
    );
  });
});
