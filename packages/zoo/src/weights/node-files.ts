/**
 * Weights on disk (Node): a NAME, URL or path becomes a local, verified file. Downloads stream to
 * `<cache>/<file>.<pid>.<random>.partial` while SHA-256 is computed, are compared with the prefix
 * in the file name (torch.hub's rule) and renamed into place atomically; a refused download leaves
 * nothing behind. A file already in torch's cache is used, once its hash is checked.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { ArgumentError, knownKeysOf } from '@resnet/core';
import { getPreset } from '../index.js';
import { refusal, WeightsDownloadError, type WeightsDownloadContext } from './errors.js';
import { type DownloadProgress, download } from './http.js';
import type { WeightsEntry } from './registry.js';
import { weightsNames } from './registry.js';
import { weightsArgumentKind, weightsSource, type WeightsSourceOptions } from './source.js';

/** Where a resolved weights file came from. */
export type WeightsFileSource = 'local' | 'cache' | 'torch-cache' | 'download';

/** A local weights file, verified unless it was given as a path. */
export interface WeightsFile {
  /** Absolute path of the file to read. */
  path: string;
  source: WeightsFileSource;
  /** The URL it was (or would be) downloaded from; null for a local path. */
  url: string | null;
  fileName: string;
  /** The registry entry when the weights were named (`IMAGENET1K_V2`, `DEFAULT`). */
  entry: WeightsEntry | null;
  /** Full SHA-256 in hex; null for a local path (read as it is). */
  sha256: string | null;
  /** Size in bytes. */
  size: number;
}

export interface ResolveWeightsOptions extends WeightsSourceOptions {
  /** The cache's root; default `$RESNET_HOME`, else `$XDG_CACHE_HOME/resnet`, else `~/.cache/resnet`. */
  home?: string;
  /** Use a verified copy from torch's cache (`$TORCH_HOME/hub/checkpoints`). Default true. */
  useTorchCache?: boolean;
  /** A progress line on stderr while downloading, when stderr is a terminal. Default true. */
  progress?: boolean;
  /** Called for every chunk received. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Where warnings go (a cached file that failed its check). Default: stderr. */
  onWarning?: (message: string) => void;
  /** Give up when no byte arrives for this long, in ms. Default 60 000. */
  stallTimeoutMs?: number;
  /** Redirects followed at most. Default 10 (as Python's urllib, which torch.hub uses). */
  maxRedirects?: number;
  signal?: AbortSignal;
}

/** The options `resolveWeightsFile` knows. */
export const RESOLVE_OPTION_KEYS = [
  'mirror',
  'allowUnverified',
  'home',
  'useTorchCache',
  'progress',
  'onProgress',
  'onWarning',
  'stallTimeoutMs',
  'maxRedirects',
  'signal',
] as const;

const env = (name: string): string | undefined => process.env[name] || undefined;
// $HOME first, as Python's os.path.expanduser('~') (torch.hub) does.
const xdgCache = (): string => env('XDG_CACHE_HOME') ?? join(env('HOME') ?? homedir(), '.cache');

/** The cache's root: `$RESNET_HOME`, else `$XDG_CACHE_HOME/resnet`, else `~/.cache/resnet`. */
export function resnetHome(): string {
  return resolve(env('RESNET_HOME') ?? join(xdgCache(), 'resnet'));
}

/** Where downloaded weights go: `<resnetHome()>/checkpoints`. */
export function weightsCacheDir(home = resnetHome()): string {
  return join(home, 'checkpoints');
}

/**
 * torch.hub's checkpoint folder: `$TORCH_HOME/hub/checkpoints`, `$TORCH_HOME` defaulting to
 * `$XDG_CACHE_HOME/torch`, else `~/.cache/torch` (torch.hub's `get_dir`).
 */
export function torchCheckpointsDir(): string {
  return resolve(env('TORCH_HOME') ?? join(xdgCache(), 'torch'), 'hub', 'checkpoints');
}

/** SHA-256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function fileSize(path: string): Promise<number | null> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : null;
  } catch {
    return null;
  }
}

const inFlight = new Map<string, Promise<WeightsFile>>();

/**
 * Resolves `weights` for `arch` to a local file:
 * - a NAME of the arch's torchvision entries (`IMAGENET1K_V1`, `IMAGENET1K_V2`) or `DEFAULT` (the
 *   default): downloaded from download.pytorch.org (or `RESNET_WEIGHTS_MIRROR`) into
 *   `<home>/checkpoints/`, verified against the SHA-256 prefix in its name;
 * - an http(s) URL: the same, when its file name carries a hash prefix; without one, only with
 *   `allowUnverified` (kept under `<home>/checkpoints/unverified/<hash of the URL>/`);
 * - anything else: a path, read as it is.
 * A copy in our cache or torch's is used without a request once its hash matches; one that does
 * not match is ignored with a warning. Concurrent calls for one file share one download.
 */
export async function resolveWeightsFile(
  arch: string,
  weights: string | WeightsEntry = 'DEFAULT',
  options: ResolveWeightsOptions = {},
): Promise<WeightsFile> {
  if (options === null || typeof options !== 'object') {
    throw new ArgumentError(
      'options',
      "an options object such as { mirror: 'https://mirror.example/models/' }",
      options,
    );
  }
  knownKeysOf('options', options as Record<string, unknown>, RESOLVE_OPTION_KEYS);
  getPreset(arch);
  if (typeof weights === 'string' && weights.length > 0 && weightsArgumentKind(weights) === 'path') {
    return localFile(arch, weights);
  }
  const source = weightsSource(arch, weights, {
    mirror: options.mirror ?? env('RESNET_WEIGHTS_MIRROR'),
    allowUnverified: options.allowUnverified,
  });
  const cacheDir = weightsCacheDir(options.home === undefined ? resnetHome() : resolve(options.home));
  const dir =
    source.sha256Prefix === null
      ? join(cacheDir, 'unverified', createHash('sha256').update(source.url).digest('hex').slice(0, 16))
      : cacheDir;
  const path = join(dir, source.fileName);
  const running = inFlight.get(path);
  if (running) return running;
  const context: WeightsDownloadContext = {
    url: source.url,
    fileName: source.fileName,
    destination: path,
    expected: source.sha256Prefix,
  };
  const job = fetchToCache(context, source.entry, options).finally(() => inFlight.delete(path));
  inFlight.set(path, job);
  return job;
}

async function localFile(arch: string, weights: string): Promise<WeightsFile> {
  const path = resolve(weights);
  const size = await fileSize(path);
  if (size === null) {
    const names = weightsNames(arch);
    throw new ArgumentError(
      'weights',
      `${names.length ? `a NAME (${names.join(', ')}), ` : ''}an http(s) URL or an existing file`,
      weights,
      `No file at ${path}`,
    );
  }
  return { path, source: 'local', url: null, fileName: basename(path), entry: null, sha256: null, size };
}

async function fetchToCache(
  context: WeightsDownloadContext,
  entry: WeightsEntry | null,
  options: ResolveWeightsOptions,
): Promise<WeightsFile> {
  const warn = options.onWarning ?? ((m: string) => process.stderr.write(`warning: ${m}\n`));
  const result = (path: string, source: WeightsFileSource, sha256: string, size: number): WeightsFile => ({
    path,
    source,
    url: context.url,
    fileName: context.fileName,
    entry,
    sha256,
    size,
  });
  const expected = context.expected;

  // 1. Our cache. A file that fails its check is ours to remove.
  const cachedSize = await fileSize(context.destination);
  if (cachedSize !== null) {
    const sha256 = await sha256File(context.destination);
    if (expected === null || sha256.startsWith(expected))
      return result(context.destination, 'cache', sha256, cachedSize);
    warn(
      `removing ${context.destination}: its SHA-256 is ${sha256} but its name promises ${expected}…; downloading it again`,
    );
    await rm(context.destination, { force: true });
  }

  // 2. torch's cache, read only.
  if (expected !== null && options.useTorchCache !== false) {
    const torchPath = join(torchCheckpointsDir(), context.fileName);
    const torchSize = await fileSize(torchPath);
    if (torchSize !== null) {
      const sha256 = await sha256File(torchPath);
      if (sha256.startsWith(expected)) return result(torchPath, 'torch-cache', sha256, torchSize);
      warn(`ignoring ${torchPath} (torch's cache): its SHA-256 is ${sha256} but its name promises ${expected}…`);
    }
  }

  // 3. Download to a partial file of our own, hash while streaming, rename when verified.
  const dir = dirname(context.destination);
  await mkdir(dir, { recursive: true });
  await removeAbandonedPartials(dir, context.fileName);
  const partial = join(dir, `${context.fileName}.${process.pid}.${randomBytes(4).toString('hex')}.partial`);
  const hash = createHash('sha256');
  let handle: FileHandle | undefined;
  const bar = options.progress !== false && process.stderr.isTTY ? progressLine(context) : undefined;
  try {
    handle = await open(partial, 'wx');
    const fh = handle;
    const size = await download(
      context,
      async (chunk) => {
        hash.update(chunk);
        await fh.write(chunk);
      },
      {
        stallTimeoutMs: options.stallTimeoutMs ?? 60_000,
        maxRedirects: options.maxRedirects ?? 10,
        signal: options.signal,
        onProgress: (p) => {
          bar?.update(p);
          options.onProgress?.(p);
        },
        offline: (reason) =>
          new WeightsDownloadError(
            'offline',
            context,
            `cannot reach ${context.url} (${reason}); without a network, download it elsewhere and put it at ${context.destination}, or set RESNET_WEIGHTS_MIRROR to a server that has ${context.fileName}`,
          ),
      },
    );
    await fh.sync();
    await fh.close();
    handle = undefined;
    const sha256 = hash.digest('hex');
    if (expected !== null && !sha256.startsWith(expected)) {
      throw refusal(
        'hash-mismatch',
        context,
        `the ${size} bytes received do not match the SHA-256 prefix in the file name (a corrupted transfer, a wrong mirror or a tampered file)`,
        sha256,
      );
    }
    await rename(partial, context.destination);
    bar?.done();
    return result(context.destination, 'download', sha256, size);
  } catch (e) {
    bar?.done();
    await handle?.close().catch(() => undefined);
    await rm(partial, { force: true });
    throw e;
  }
}

/** Partial files of `fileName` whose writer process is gone (a killed download) are removed. */
async function removeAbandonedPartials(dir: string, fileName: string): Promise<void> {
  const prefix = `${fileName}.`;
  for (const name of await readdir(dir)) {
    if (!name.startsWith(prefix) || !name.endsWith('.partial')) continue;
    const pid = Number(name.slice(prefix.length).split('.')[0]);
    if (Number.isInteger(pid) && pid > 0 && !processAlive(pid)) await rm(join(dir, name), { force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** One self-updating line on stderr: file, MB received of total, percent, speed. */
function progressLine(context: WeightsDownloadContext): { update(p: DownloadProgress): void; done(): void } {
  const start = Date.now();
  let last = 0;
  let shown = false;
  const mb = (n: number) => (n / 2 ** 20).toFixed(1);
  const draw = (p: DownloadProgress): void => {
    const seconds = Math.max((Date.now() - start) / 1000, 1e-3);
    const of = p.total === null ? '' : `/${mb(p.total)}`;
    const percent = p.total ? ` ${Math.floor((100 * p.received) / p.total)}%` : '';
    process.stderr.write(
      `\r\x1b[2KDownloading ${context.fileName}: ${mb(p.received)}${of} MB${percent} ${mb(p.received / seconds)} MB/s`,
    );
    shown = true;
  };
  process.stderr.write(`Downloading ${context.url} to ${context.destination}\n`);
  return {
    update(p) {
      const now = Date.now();
      if (now - last >= 100 || (p.total !== null && p.received === p.total)) {
        last = now;
        draw(p);
      }
    },
    done() {
      if (shown) process.stderr.write('\n');
      shown = false;
    },
  };
}
