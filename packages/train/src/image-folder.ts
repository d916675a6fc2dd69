/**
 * Image folders as torchvision's `ImageFolder` reads them: one subfolder per class, class indices
 * in sorted order, every image file below each class folder.
 */
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { ArgumentError, ResNetError } from '@resnet/core';
import { Rng } from './rng.js';

/** torchvision's `IMG_EXTENSIONS`: the files `ImageFolder` lists (case-insensitive). */
export const IMAGE_FOLDER_EXTENSIONS = [
  '.jpg',
  '.jpeg',
  '.png',
  '.ppm',
  '.bmp',
  '.pgm',
  '.tif',
  '.tiff',
  '.webp',
] as const;

/** The extensions @resnet/images decodes (PNG and JPEG). */
export const DECODABLE_EXTENSIONS = ['.jpg', '.jpeg', '.png'] as const;

/** One image of a folder and its class index. */
export interface ImageSample {
  path: string;
  label: number;
}

/** An image folder: its classes (sorted) and every image with its class index, in torchvision's order. */
export interface ImageFolder {
  /** The folder, as an absolute path. */
  root: string;
  /** Class names: the subfolders' names, sorted by code point (Python's `sorted`). */
  classes: string[];
  /** Every image, class after class, each class's files in torchvision's walk order. */
  samples: ImageSample[];
  /** Images in each class. */
  counts: number[];
  /** Files with an extension torchvision lists but that are not PNG or JPEG, left out (`skipUndecodable`). */
  skipped: string[];
}

export interface ImageFolderOptions {
  /**
   * Leave out files whose extension torchvision's `ImageFolder` lists but @resnet/images cannot
   * decode (`.bmp`, `.webp`, `.tif`, ...) instead of refusing the folder. Default false.
   */
  skipUndecodable?: boolean;
  /** A classifier needs two classes: refuse a folder with fewer. Default 2 (1 for evaluation data). */
  minClasses?: number;
}

/** Python's string order: by code point (JavaScript's `<` compares UTF-16 code units). */
export function comparePython(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0) as number);
  const y = Array.from(b, (c) => c.codePointAt(0) as number);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i] as number) - (y[i] as number);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

const LAYOUT =
  'a folder with one subfolder per class, each holding that class’s images (torchvision’s ImageFolder layout)';

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory(); // follows symbolic links, as Python's DirEntry.is_dir()
  } catch {
    return false; // a broken link
  }
}

/**
 * `os.walk(classDir, followlinks=True)` sorted as torchvision sorts it: the folders in sorted
 * order of their paths, each folder's files sorted. Links to folders are followed, as torchvision
 * does, but a link back into a folder already being walked (a cycle, where Python would loop) is not.
 */
function walk(dir: string): string[] {
  const folders: [string, string[]][] = [];
  const visit = (path: string, ancestors: Set<string>) => {
    let real: string;
    try {
      real = realpathSync(path);
    } catch {
      return;
    }
    if (ancestors.has(real)) return;
    const inner = new Set(ancestors).add(real);
    let names: string[];
    try {
      names = readdirSync(path);
    } catch (e) {
      throw new ResNetError(
        `cannot read the folder ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    const files: string[] = [];
    const subfolders: string[] = [];
    for (const name of names) (isDirectory(join(path, name)) ? subfolders : files).push(name);
    folders.push([path, files.sort(comparePython)]);
    for (const name of subfolders) visit(join(path, name), inner);
  };
  visit(dir, new Set());
  folders.sort(([a], [b]) => comparePython(a, b));
  return folders.flatMap(([path, files]) => files.map((f) => join(path, f)));
}

const hasExtension = (name: string, extensions: readonly string[]) =>
  extensions.some((e) => name.toLowerCase().endsWith(e));

/**
 * Reads an image folder as torchvision 0.14's `ImageFolder(root)`: the classes are the
 * subfolders (links followed, hidden ones included, as torchvision does: a stray `.ipynb_checkpoints`
 * is a class there too) sorted by code point, and class index i is the i-th; the images are the
 * files below each class folder, at any depth, whose name ends (in any case) with one of
 * torchvision's extensions, hidden files included. Files with another extension are ignored.
 * Refuses a missing folder, a folder without class folders, a class without images, fewer than
 * `minClasses` classes, and files that are listed but not PNG or JPEG (unless `skipUndecodable`).
 * Only names are read here; the images are decoded when they are loaded.
 */
export function scanImageFolder(root: string, options: ImageFolderOptions = {}): ImageFolder {
  if (typeof root !== 'string' || root === '') throw new ArgumentError('root', `the path of ${LAYOUT}`, root);
  if (options === null || typeof options !== 'object') throw new ArgumentError('options', 'an options object', options);
  const minClasses = options.minClasses ?? 2;
  const dir = resolve(root);
  let stats: ReturnType<typeof statSync>;
  try {
    stats = statSync(dir);
  } catch {
    throw new ResNetError(`no folder at ${root}: expected ${LAYOUT}`);
  }
  if (!stats.isDirectory()) throw new ResNetError(`${root} is a file: expected ${LAYOUT}`);
  const classes = readdirSync(dir)
    .filter((name) => isDirectory(join(dir, name)))
    .sort(comparePython);
  if (classes.length === 0) throw new ResNetError(`${root} has no class folders: expected ${LAYOUT}`);
  const samples: ImageSample[] = [];
  const counts: number[] = [];
  const skipped: string[] = [];
  const undecodable: string[] = [];
  const empty: string[] = [];
  classes.forEach((name, label) => {
    let count = 0;
    for (const path of walk(join(dir, name))) {
      if (!hasExtension(path, IMAGE_FOLDER_EXTENSIONS)) continue;
      if (!hasExtension(path, DECODABLE_EXTENSIONS)) {
        (options.skipUndecodable ? skipped : undecodable).push(path);
        continue;
      }
      samples.push({ path, label });
      count++;
    }
    counts.push(count);
    if (count === 0) empty.push(name);
  });
  if (undecodable.length > 0) {
    throw new ResNetError(
      `${undecodable.length} file${undecodable.length === 1 ? '' : 's'} in ${root} ${undecodable.length === 1 ? 'is' : 'are'} not PNG or JPEG (${relative(dir, undecodable[0] as string)}${undecodable.length > 1 ? ', ...' : ''}), the formats @resnet/images decodes: convert them, or skip them (resnet train --skip-bad-images)`,
    );
  }
  if (empty.length > 0) {
    const hidden = empty.filter((n) => n.startsWith('.'));
    throw new ResNetError(
      `class folder${empty.length === 1 ? '' : 's'} ${empty.map((n) => `'${n}'`).join(', ')} of ${root} ${empty.length === 1 ? 'has' : 'have'} no images (files ending ${DECODABLE_EXTENSIONS.join(', ')}): add images or remove ${empty.length === 1 ? 'the folder' : 'the folders'}` +
        (hidden.length > 0 ? ' (hidden folders are classes too, as in torchvision’s ImageFolder)' : ''),
    );
  }
  if (classes.length < minClasses) {
    throw new ResNetError(
      `${root} has ${classes.length === 1 ? `one class folder ('${classes[0]}')` : `${classes.length} class folders`}: a classifier needs at least ${minClasses} classes, one subfolder each`,
    );
  }
  return { root: dir, classes, samples, counts, skipped };
}

/**
 * Splits samples into training and validation sets, stratified: each class gives
 * `round(fraction · n)` of its images (at least one, and at least one left for training), chosen by
 * a generator seeded with `seed`. Both sets keep the folder's order.
 */
export function splitSamples(
  samples: readonly ImageSample[],
  fraction: number,
  seed: number,
  classes?: readonly string[],
): { train: ImageSample[]; val: ImageSample[] } {
  if (!Array.isArray(samples)) throw new ArgumentError('samples', 'an array of { path, label }', samples);
  if (typeof fraction !== 'number' || !(fraction > 0 && fraction < 1))
    throw new ArgumentError('fraction', 'a number between 0 and 1 (exclusive)', fraction, 'e.g. 0.2 holds out 20%');
  const rng = new Rng(seed);
  const byClass = new Map<number, number[]>();
  samples.forEach((s, i) => {
    const list = byClass.get(s.label) ?? [];
    list.push(i);
    byClass.set(s.label, list);
  });
  const inVal = new Uint8Array(samples.length);
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const indices = Int32Array.from(byClass.get(label) as number[]);
    const name = classes?.[label] ?? `class ${label}`;
    if (indices.length < 2)
      throw new ResNetError(
        `${name} has ${indices.length} image: a validation split needs at least 2 per class (one to train on, one to validate)`,
      );
    rng.shuffle(indices);
    const n = Math.min(indices.length - 1, Math.max(1, Math.round(fraction * indices.length)));
    for (let k = 0; k < n; k++) inVal[indices[k] as number] = 1;
  }
  return {
    train: samples.filter((_, i) => inVal[i] === 0),
    val: samples.filter((_, i) => inVal[i] === 1),
  };
}

/**
 * A validation folder's samples labelled with the training folder's class indices, by name (so a
 * validation folder may lack a class, but may not have one the model was not trained on).
 */
export function relabelSamples(folder: ImageFolder, classes: readonly string[]): ImageSample[] {
  if (folder === null || typeof folder !== 'object' || !Array.isArray(folder.classes) || !Array.isArray(folder.samples))
    throw new ArgumentError('folder', 'an image folder from scanImageFolder', folder);
  if (!Array.isArray(classes) || classes.some((c) => typeof c !== 'string'))
    throw new ArgumentError('classes', 'the training class names (an array of strings)', classes);
  const index = new Map(classes.map((c, i) => [c, i]));
  const unknown = folder.classes.filter((c) => !index.has(c));
  if (unknown.length > 0) {
    throw new ResNetError(
      `${folder.root} has class folder${unknown.length === 1 ? '' : 's'} ${unknown.map((c) => `'${c}'`).join(', ')} that the training data does not have (its classes: ${classes.join(', ')}): the validation folder must use the training folder's class names`,
    );
  }
  return folder.samples.map((s) => ({ path: s.path, label: index.get(folder.classes[s.label] as string) as number }));
}
