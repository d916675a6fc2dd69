import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runTorch } from '../../../tools/test-support/torch.js';
import { readStateDictFile } from '@resnet/core/node';
import { createModel, hashPrefixOf, WeightsDownloadError } from '../src/index.js';
import {
  type ResolveWeightsOptions,
  resnetHome,
  resolveWeightsFile,
  torchCheckpointsDir,
  weightsCacheDir,
} from '../src/node.js';
import {
  type Checkpoint,
  closedPort,
  makeCheckpoint,
  startWeightsServer,
  type WeightsServer,
} from '../../../tools/test-support/weights-server.js';

let checkpoint: Checkpoint;
let server: WeightsServer;
let scratch: string;
let home: string;
let torchHome: string;
const saved = { ...process.env };
const quiet: ResolveWeightsOptions = { progress: false, onWarning: () => undefined };

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
/** Every file under a folder, recursively, relative to it. */
const filesUnder = (dir: string): string[] =>
  existsSync(dir)
    ? (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
        .filter((d) => d.isFile())
        .map((d) => join(d.parentPath, d.name).slice(dir.length + 1))
    : [];

beforeAll(async () => {
  checkpoint = makeCheckpoint();
  server = await startWeightsServer(checkpoint);
});

afterAll(async () => {
  await server?.close();
  if (checkpoint) rmSync(dirname(checkpoint.path), { recursive: true, force: true });
});

beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'resnet-weights-test-'));
  home = join(scratch, 'resnet-home');
  torchHome = join(scratch, 'torch-home');
  process.env.RESNET_HOME = home;
  process.env.TORCH_HOME = torchHome;
  process.env.RESNET_WEIGHTS_MIRROR = `${server.origin}/models/`;
});

afterEach(() => {
  process.env = { ...saved };
  rmSync(scratch, { recursive: true, force: true });
});

/** Expects a refusal of `failure` whose message names the URL, the file and the hashes, and no file left. */
async function expectRefusal(
  promise: Promise<unknown>,
  failure: WeightsDownloadError['failure'],
  url: string,
): Promise<WeightsDownloadError> {
  const error = await promise.then(
    () => {
      throw new Error(`expected a ${failure} refusal`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WeightsDownloadError);
  const e = error as WeightsDownloadError;
  expect(e.failure, e.message).toBe(failure);
  expect(e.message).toContain(url);
  expect(e.message).toContain(e.fileName);
  if (e.expected) expect(e.message).toContain(e.expected);
  expect(e.message).not.toContain('\n');
  expect(filesUnder(home), 'nothing left in the cache, not even a .partial').toEqual([]);
  return e;
}

describe('verified downloads into $RESNET_HOME/checkpoints', () => {
  it('downloads a file whose name carries its hash, with progress, and a second call uses the cache', async () => {
    const url = `${server.origin}/models/${checkpoint.file}`;
    const progress: { received: number; total: number | null }[] = [];
    const first = await resolveWeightsFile('resnet18', url, { ...quiet, onProgress: (p) => progress.push(p) });
    expect(first).toMatchObject({ source: 'download', url, fileName: checkpoint.file, entry: null });
    expect(first.path).toBe(join(home, 'checkpoints', checkpoint.file));
    expect(first.sha256).toBe(checkpoint.sha256);
    expect(first.size).toBe(checkpoint.size);
    expect(sha256(readFileSync(first.path))).toBe(checkpoint.sha256);
    expect(filesUnder(home)).toEqual([join('checkpoints', checkpoint.file)]);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toEqual(expect.objectContaining({ received: checkpoint.size, total: checkpoint.size }));

    // What landed is torch.save's resnet18 state_dict: @resnet/core reads it with our model's names.
    const stateDict = readStateDictFile(first.path);
    expect([...stateDict.tensors.keys()]).toEqual(
      createModel('resnet18', { meta: true })
        .namedSlots()
        .map(([name]) => name),
    );

    const requests = server.count(`/models/${checkpoint.file}`);
    const second = await resolveWeightsFile('resnet18', url, quiet);
    expect(second).toMatchObject({ source: 'cache', path: first.path, sha256: checkpoint.sha256 });
    expect(server.count(`/models/${checkpoint.file}`)).toBe(requests);
  });

  it('follows redirects up to a bound', async () => {
    const ok = await resolveWeightsFile('resnet18', `${server.origin}/redirect/3/${checkpoint.file}`, quiet);
    expect(ok.sha256).toBe(checkpoint.sha256);
    rmSync(home, { recursive: true });
    const url = `${server.origin}/redirect/12/${checkpoint.file}`;
    const e = await expectRefusal(resolveWeightsFile('resnet18', url, quiet), 'too-many-redirects', url);
    expect(e.message).toMatch(/more than 10 redirects/);
    await expectRefusal(
      resolveWeightsFile('resnet18', `${server.origin}/redirect/3/${checkpoint.file}`, { ...quiet, maxRedirects: 2 }),
      'too-many-redirects',
      `${server.origin}/redirect/3/${checkpoint.file}`,
    );
  });

  it('a slow trickle arrives whole, with progress along the way', async () => {
    const seen: number[] = [];
    const url = `${server.origin}/trickle/${checkpoint.file}`;
    const file = await resolveWeightsFile('resnet18', url, { ...quiet, onProgress: (p) => seen.push(p.received) });
    expect(file.sha256).toBe(checkpoint.sha256);
    expect(seen.length).toBeGreaterThanOrEqual(Math.ceil(checkpoint.size / (1 << 20)));
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });
});

describe('refusals leave nothing in the cache and name the URL, the file and the hashes', () => {
  it('a file under a name whose hash does not match (torchvision’s name served by the mirror)', async () => {
    const e = await expectRefusal(
      resolveWeightsFile('resnet18', 'IMAGENET1K_V1', quiet),
      'hash-mismatch',
      `${server.origin}/models/resnet18-f37072fd.pth`,
    );
    expect(server.count('/models/resnet18-f37072fd.pth')).toBeGreaterThan(0);
    expect(e.expected).toBe('f37072fd');
    expect(e.actual).toBe(checkpoint.sha256);
    expect(e.message).toContain(checkpoint.sha256);
    expect(e.message).toContain(join(home, 'checkpoints', 'resnet18-f37072fd.pth'));
  });

  it('DEFAULT resolves to torchvision’s default entry', async () => {
    await expectRefusal(
      resolveWeightsFile('resnet50', undefined, quiet),
      'hash-mismatch',
      `${server.origin}/models/resnet50-11ad3fa6.pth`,
    );
  });

  it('a connection dropped halfway, with and without Content-Length', async () => {
    const url = `${server.origin}/drop/${checkpoint.file}`;
    const e = await expectRefusal(resolveWeightsFile('resnet18', url, quiet), 'interrupted', url);
    expect(e.message).toMatch(new RegExp(`after \\d+ of ${checkpoint.size} bytes`));
    const chunked = `${server.origin}/drop-chunked/${checkpoint.file}`;
    await expectRefusal(resolveWeightsFile('resnet18', chunked, quiet), 'interrupted', chunked);
  });

  it.each([404, 500])('HTTP %i', async (status) => {
    const url = `${server.origin}/status/${status}/${checkpoint.file}`;
    const e = await expectRefusal(resolveWeightsFile('resnet18', url, quiet), 'http-status', url);
    expect(e.message).toContain(`HTTP ${status}`);
  });

  it('a transfer that stalls', async () => {
    const url = `${server.origin}/stall/${checkpoint.file}`;
    const e = await expectRefusal(
      resolveWeightsFile('resnet18', url, { ...quiet, stallTimeoutMs: 400 }),
      'stalled',
      url,
    );
    expect(e.message).toMatch(/no data for 0.4 s after 1048576 of \d+ bytes/);
  });

  it('offline: one line naming the URL and where to put the file by hand', async () => {
    const mirror = `http://127.0.0.1:${await closedPort()}/models/`;
    process.env.RESNET_WEIGHTS_MIRROR = mirror;
    const e = await expectRefusal(
      resolveWeightsFile('resnet18', 'DEFAULT', quiet),
      'offline',
      `${mirror}resnet18-f37072fd.pth`,
    );
    expect(e.message).toMatch(/ECONNREFUSED/);
    expect(e.message).toContain(`put it at ${join(home, 'checkpoints', 'resnet18-f37072fd.pth')}`);
  });
});

describe('caches', () => {
  it('uses a verified file from torch’s cache without a request, and refuses a corrupted one', async () => {
    const url = `${server.origin}/models/${checkpoint.file}`;
    const torchDir = join(torchHome, 'hub', 'checkpoints');
    mkdirSync(torchDir, { recursive: true });
    writeFileSync(join(torchDir, checkpoint.file), checkpoint.bytes);
    const before = server.total();
    const file = await resolveWeightsFile('resnet18', url, quiet);
    expect(file).toMatchObject({
      source: 'torch-cache',
      path: join(torchDir, checkpoint.file),
      sha256: checkpoint.sha256,
    });
    expect(server.total()).toBe(before);
    expect(filesUnder(home)).toEqual([]);

    const corrupted = Buffer.from(checkpoint.bytes);
    corrupted[1000] = (corrupted[1000] as number) ^ 0xff;
    writeFileSync(join(torchDir, checkpoint.file), corrupted);
    const warnings: string[] = [];
    const fresh = await resolveWeightsFile('resnet18', url, { ...quiet, onWarning: (m) => warnings.push(m) });
    expect(fresh).toMatchObject({ source: 'download', path: join(home, 'checkpoints', checkpoint.file) });
    expect(sha256(readFileSync(fresh.path))).toBe(checkpoint.sha256);
    expect(server.total()).toBe(before + 1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(join(torchDir, checkpoint.file));
    expect(warnings[0]).toContain(sha256(corrupted));
    expect(warnings[0]).toContain(hashPrefixOf(checkpoint.file) as string);
    expect(readFileSync(join(torchDir, checkpoint.file)).equals(corrupted)).toBe(true); // not ours to touch
  });

  it('replaces a corrupted file in its own cache', async () => {
    const url = `${server.origin}/models/${checkpoint.file}`;
    mkdirSync(join(home, 'checkpoints'), { recursive: true });
    writeFileSync(join(home, 'checkpoints', checkpoint.file), checkpoint.bytes.subarray(0, 1000));
    const warnings: string[] = [];
    const file = await resolveWeightsFile('resnet18', url, { ...quiet, onWarning: (m) => warnings.push(m) });
    expect(file.source).toBe('download');
    expect(sha256(readFileSync(file.path))).toBe(checkpoint.sha256);
    expect(warnings[0]).toMatch(/^removing .*: its SHA-256 is [0-9a-f]{64} but its name promises/);
  });

  it('removes partial files left by a killed download', async () => {
    const dir = join(home, 'checkpoints');
    mkdirSync(dir, { recursive: true });
    const child = spawn(process.execPath, ['-e', '0']);
    await new Promise((done) => child.on('exit', done));
    const abandoned = join(dir, `${checkpoint.file}.${child.pid}.0badc0de.partial`);
    writeFileSync(abandoned, 'half');
    await resolveWeightsFile('resnet18', `${server.origin}/models/${checkpoint.file}`, quiet);
    expect(filesUnder(home)).toEqual([join('checkpoints', checkpoint.file)]);
  });

  it('concurrent downloads of one file do not corrupt each other (one process, and two)', async () => {
    const url = `${server.origin}/trickle/${checkpoint.file}`;
    const before = server.count(`/trickle/${checkpoint.file}`);
    const [a, b] = await Promise.all([
      resolveWeightsFile('resnet18', url, quiet),
      resolveWeightsFile('resnet18', url, quiet),
    ]);
    expect(a).toEqual(b);
    expect(server.count(`/trickle/${checkpoint.file}`)).toBe(before + 1); // shared in one process
    rmSync(home, { recursive: true });

    // A second process downloads the same file at the same time (the server answers both requests
    // together): each writes its own .partial, the second rename replaces identical bytes.
    const paired = `${server.origin}/pair/${checkpoint.file}`;
    const dist = new URL('../dist/node.js', import.meta.url).href;
    const script = `import { resolveWeightsFile } from ${JSON.stringify(dist)};
      const f = await resolveWeightsFile('resnet18', ${JSON.stringify(paired)}, { progress: false });
      process.stdout.write(f.sha256);`;
    const other = spawn(process.execPath, ['--input-type=module', '-e', script], { env: process.env });
    let out = '';
    other.stdout.on('data', (d) => (out += d));
    other.stderr.on('data', (d) => (out += d));
    const exited = new Promise((done) => other.on('exit', done));
    const mine = await resolveWeightsFile('resnet18', paired, quiet);
    expect(await exited).toBe(0);
    expect(out).toBe(checkpoint.sha256);
    expect(mine).toMatchObject({ source: 'download', sha256: checkpoint.sha256 });
    expect(server.count(`/pair/${checkpoint.file}`)).toBe(2);
    expect(sha256(readFileSync(mine.path))).toBe(checkpoint.sha256);
    expect(filesUnder(home)).toEqual([join('checkpoints', checkpoint.file)]);
  });
});

describe('what a weights argument may be', () => {
  it('a URL without a hash in its name only with allowUnverified, cached by URL', async () => {
    const url = `${server.origin}/models/resnet18.pth`;
    await expect(resolveWeightsFile('resnet18', url, quiet)).rejects.toThrow(
      /weights: expected a URL whose file name carries its SHA-256 prefix .* pass \{ allowUnverified: true \}/,
    );
    const file = await resolveWeightsFile('resnet18', url, { ...quiet, allowUnverified: true });
    expect(file).toMatchObject({ source: 'download', sha256: checkpoint.sha256, fileName: 'resnet18.pth' });
    expect(file.path.startsWith(join(home, 'checkpoints', 'unverified'))).toBe(true);
    const before = server.total();
    expect((await resolveWeightsFile('resnet18', url, { ...quiet, allowUnverified: true })).source).toBe('cache');
    expect(server.total()).toBe(before);
  });

  it('a local path is read as it is', async () => {
    const file = await resolveWeightsFile('resnet18', checkpoint.path, quiet);
    expect(file).toEqual({
      path: checkpoint.path,
      source: 'local',
      url: null,
      fileName: checkpoint.file,
      entry: null,
      sha256: null,
      size: checkpoint.size,
    });
    await expect(resolveWeightsFile('resnet18', './no/such/file.pth', quiet)).rejects.toThrow(
      /weights: expected a NAME \(IMAGENET1K_V1, DEFAULT\), an http\(s\) URL or an existing file; got ".\/no\/such\/file.pth". No file at/,
    );
  });

  it('unknown names and architectures list the valid ones', async () => {
    await expect(resolveWeightsFile('resnet50', 'IMAGENET1K_V3', quiet)).rejects.toThrow(
      'weights: expected one of IMAGENET1K_V1, IMAGENET1K_V2, DEFAULT for resnet50; got "IMAGENET1K_V3"',
    );
    await expect(resolveWeightsFile('resnet56', 'DEFAULT', quiet)).rejects.toThrow(
      /arch: expected an architecture with pretrained weights \(resnet18, resnet34, .*\); got "resnet56"/,
    );
    // resnet20's only weights ship inside the package: there is no file to resolve.
    await expect(resolveWeightsFile('resnet20', 'DEFAULT', quiet)).rejects.toThrow(
      /weights: expected weights with a download URL \(resnet20 FASHION_MNIST ships inside @resnet\/zoo\)/,
    );
    await expect(resolveWeightsFile('resnet51', 'DEFAULT', quiet)).rejects.toThrow(/arch: expected one of resnet18/);
    await expect(resolveWeightsFile('resnet18', 'DEFAULT', { mirorr: 'x' } as never)).rejects.toThrow(
      /options\.mirorr/,
    );
    process.env.RESNET_WEIGHTS_MIRROR = 'ftp://mirror/models';
    await expect(resolveWeightsFile('resnet18', 'DEFAULT', quiet)).rejects.toThrow(/RESNET_WEIGHTS_MIRROR/);
  });
});

describe('cache folders follow torch.hub', () => {
  it('torch’s checkpoints folder is where torch.hub.get_dir() puts them, for each environment', () => {
    const cases = [
      { TORCH_HOME: '/opt/torch-home', XDG_CACHE_HOME: '/xdg', HOME: '/home/u' },
      { TORCH_HOME: null, XDG_CACHE_HOME: '/xdg', HOME: '/home/u' },
      { TORCH_HOME: null, XDG_CACHE_HOME: null, HOME: '/home/u' },
    ];
    const { dirs } = runTorch<{ dirs: string[] }>(
      `import os
import torch.hub
outputs['dirs'] = []
for case in inputs['cases']:
    for k, v in case.items():
        os.environ.pop(k, None)
        if v is not None: os.environ[k] = v
    outputs['dirs'].append(os.path.join(torch.hub.get_dir(), 'checkpoints'))`,
      { cases },
    );
    const ours = cases.map((env) => {
      for (const [k, v] of Object.entries(env)) {
        if (v === null) delete process.env[k];
        else process.env[k] = v;
      }
      return torchCheckpointsDir();
    });
    expect(ours).toEqual(dirs);
    expect(new Set(dirs).size).toBe(3);
  });

  it('$RESNET_HOME, else $XDG_CACHE_HOME/resnet, else ~/.cache/resnet', () => {
    process.env.HOME = '/home/u';
    process.env.XDG_CACHE_HOME = '/xdg';
    expect(resnetHome()).toBe(home);
    delete process.env.RESNET_HOME;
    expect(resnetHome()).toBe('/xdg/resnet');
    delete process.env.XDG_CACHE_HOME;
    expect(resnetHome()).toBe('/home/u/.cache/resnet');
    expect(weightsCacheDir()).toBe('/home/u/.cache/resnet/checkpoints');
  });
});
