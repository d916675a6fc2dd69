import { ArgumentError } from '@resnet/core';
import { getPreset } from '../index.js';
import { fileNameOf, hashPrefixOf } from './hash.js';
import { getWeights, type WeightsEntry, weightsNames } from './registry.js';

/** The base of torchvision's official URLs; `RESNET_WEIGHTS_MIRROR` (or `mirror`) replaces it. */
export const OFFICIAL_WEIGHTS_BASE = 'https://download.pytorch.org/models/';

/** How a weights argument reads: a NAME of the arch's entries, a URL, or (Node) a path. */
export type WeightsArgumentKind = 'name' | 'url' | 'path';

/** `IMAGENET1K_V1`, `DEFAULT` → name; `http(s)://…` → url; anything else → path. */
export function weightsArgumentKind(weights: string): WeightsArgumentKind {
  if (/^[A-Z][A-Z0-9_]*$/.test(weights)) return 'name';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(weights)) return 'url';
  return 'path';
}

/** A file to download: where it is, what it is called, what its hash must start with. */
export interface WeightsSource {
  /** The URL to fetch (the mirror applied). */
  url: string;
  /** The file name, the cache key: `resnet50-11ad3fa6.pth`. */
  fileName: string;
  /** The SHA-256 prefix the file name carries; null only for an allowed unverified URL. */
  sha256Prefix: string | null;
  /** The registry entry when the weights were named. */
  entry: WeightsEntry | null;
}

export interface WeightsSourceOptions {
  /** Replaces the official base URL (https://download.pytorch.org/models/). */
  mirror?: string;
  /** Accept a URL whose file name carries no SHA-256 prefix (nothing is verified). Default false. */
  allowUnverified?: boolean;
}

function checkMirror(mirror: string): string {
  let url: URL;
  try {
    url = new URL(mirror);
  } catch {
    throw new ArgumentError(
      'mirror (RESNET_WEIGHTS_MIRROR)',
      'an http(s) URL such as https://mirror.example/models/',
      mirror,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ArgumentError(
      'mirror (RESNET_WEIGHTS_MIRROR)',
      'an http(s) URL such as https://mirror.example/models/',
      mirror,
    );
  }
  return url.href.endsWith('/') ? url.href : `${url.href}/`;
}

/** The official URL with the mirror's base, or the URL unchanged when it is not an official one. */
export function applyMirror(url: string, mirror: string | undefined): string {
  if (!mirror || !url.startsWith(OFFICIAL_WEIGHTS_BASE)) return url;
  return checkMirror(mirror) + url.slice(OFFICIAL_WEIGHTS_BASE.length);
}

/**
 * What to download for `weights` (a NAME of `arch`'s entries, `DEFAULT`, an entry, or an absolute
 * http(s) URL): URL, file name and expected hash. A URL whose name carries no hash is refused
 * unless `allowUnverified`. Paths are the Node entry's business and are refused here.
 */
export function weightsSource(
  arch: string,
  weights: string | WeightsEntry = 'DEFAULT',
  options: WeightsSourceOptions = {},
): WeightsSource {
  getPreset(arch);
  if (typeof weights === 'object' && weights !== null && typeof weights.url === 'string') {
    if (weights.arch !== arch) {
      throw new ArgumentError('weights', `weights of ${arch}`, `${weights.arch} ${weights.name} (for ${weights.arch})`);
    }
    return { ...fromUrl(weights.url, options, 'weights'), entry: weights };
  }
  if (typeof weights !== 'string' || weights.length === 0) {
    throw new ArgumentError('weights', `a NAME (${namesOf(arch)}), an http(s) URL or a file path`, weights);
  }
  const kind = weightsArgumentKind(weights);
  if (kind === 'name') {
    const entry = getWeights(arch, weights);
    if (entry.url === null) {
      throw new ArgumentError(
        'weights',
        `weights with a download URL (${arch} ${entry.name} ships inside @resnet/zoo)`,
        weights,
        `Nothing to download: pretrained('${arch}', { weights: '${entry.name}' }) reads them from the package`,
      );
    }
    return { ...fromUrl(entry.url, options, 'weights'), entry };
  }
  if (kind === 'url') return { ...fromUrl(weights, options, 'weights'), entry: null };
  throw new ArgumentError(
    'weights',
    `a NAME (${namesOf(arch)}) or an http(s) URL`,
    weights,
    'Local files are read by the Node entry (@resnet/zoo/node)',
  );
}

function namesOf(arch: string): string {
  const names = weightsNames(arch);
  return names.length ? names.join(', ') : `none for ${arch}`;
}

function fromUrl(raw: string, options: WeightsSourceOptions, argument: string): Omit<WeightsSource, 'entry'> {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ArgumentError(argument, 'an absolute http(s) URL', raw);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ArgumentError(argument, 'an http(s) URL', raw);
  }
  const url = applyMirror(parsed.href, options.mirror);
  const fileName = fileNameOf(url);
  if (!fileName || fileName === '.' || fileName === '..' || /[\\/\0]/.test(fileName)) {
    throw new ArgumentError(argument, 'a URL that ends with a file name (…/resnet50-11ad3fa6.pth)', raw);
  }
  const sha256Prefix = hashPrefixOf(fileName);
  if (sha256Prefix === null && !options.allowUnverified) {
    throw new ArgumentError(
      argument,
      'a URL whose file name carries its SHA-256 prefix as torch.hub names checkpoints (<name>-<8+ hex digits>.<ext>)',
      raw,
      'Rename the file on the server to <name>-<first 8 hex digits of its sha256>.pth, or pass { allowUnverified: true } to download it without a check',
    );
  }
  return { url, fileName, sha256Prefix };
}
