import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readStateDictFile } from '@resnet/core/node';
import { readCheckpointWeights, writeFashionMnistFolder } from '@resnet/train/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../tools/test-support/fixtures.js';
import { TORCH_PYTHON } from '../../../tools/test-support/torch.js';
import { resnetWithEnv } from './helpers.js';

// `resnet train --weights` with torchvision's weights as a user gets them, offline: a resnet18
// state_dict written by Debian's torch (`torch.save`, named <arch>-<sha256[:8]>.pth as torch.hub
// names files), served by a local HTTP server on 127.0.0.1 that stands in for download.pytorch.org.
let dir: string;
let server: Server;
let origin: string;
let checkpoint: { file: string; path: string; sha256: string };
const requests: string[] = [];

const resnet = resnetWithEnv;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'resnet-train-weights-'));
  const r = spawnSync(TORCH_PYTHON, [join(REPO_ROOT, 'tools/weights/make_test_checkpoint.py'), join(dir, 'served')], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`make_test_checkpoint.py failed (needs Debian's python3-torch): ${r.stderr}`);
  checkpoint = JSON.parse(r.stdout);
  const bytes = readFileSync(checkpoint.path);
  // Every file name is answered with the same bytes: a registry name then fails its hash check.
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': bytes.length });
    res.end(bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  writeFashionMnistFolder(join(dir, 'photos'), { classes: [0, 1, 2], perClass: 8 });
}, 300_000);
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const FOLDER = ['--arch', 'resnet18', '--image-size', '32', '--batch', '8', '--epochs', '1', '--backend', 'wasm'];

describe('resnet train --weights with torchvision checkpoints', () => {
  it('a URL: downloaded once into the cache, verified, loaded but the 1000-class head, ImageNet normalisation', async () => {
    const home = join(dir, 'home-url');
    const url = `${origin}/models/${checkpoint.file}`;
    const ckpt = join(dir, 'tuned');
    const env = { RESNET_HOME: home, TORCH_HOME: join(dir, 'torch-home') };
    const tune = ['train', ...FOLDER, '--data', join(dir, 'photos'), '--weights', url, '--freeze', 'backbone'];
    const r = await resnet(env, ...tune, '--checkpoint', ckpt, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^fc: 1000 → 3 classes, re-initialised$/m);
    expect(r.stderr).toMatch(
      new RegExp(
        `weights: ${url.replace(/[.?]/g, '\\$&')}, downloaded to .*${checkpoint.file} \\(120 tensors loaded\\)`,
      ),
    );
    expect(r.stderr).toMatch(/normalisation: ImageNet's mean .*the weights carry none of their own/);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() as string);
    expect(out.weights).toBe(url);
    expect(out.trainableParameters).toBe(512 * 3 + 3);
    expect(readdirSync(join(home, 'checkpoints'))).toEqual([checkpoint.file]);
    // The backbone is torchvision's tensors, untouched; the head is new.
    const theirs = readStateDictFile(checkpoint.path).tensors;
    const ours = readCheckpointWeights(join(ckpt, 'checkpoint.safetensors')).stateDict;
    for (const [name, t] of theirs) {
      if (name.startsWith('fc.')) continue;
      expect(Array.from(ours.get(name)?.data ?? []), name).toEqual(Array.from(t.data));
    }
    expect(ours.get('fc.weight')?.shape).toEqual([3, 512]);
    // A second run reads the cached file: no new request.
    const before = requests.length;
    const again = await resnet(env, ...tune);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/weights: http.*, from .*checkpoints.*\(120 tensors loaded\)/);
    expect(requests.length).toBe(before);
  }, 600_000);

  it('a .pth file by path; a NAME whose download fails its hash check is refused in one line, nothing cached', async () => {
    const fromPath = await resnet(
      {},
      'train',
      ...FOLDER,
      '--data',
      join(dir, 'photos'),
      '--weights',
      checkpoint.path,
      '--freeze',
      'until:layer3',
    );
    expect(fromPath.code, fromPath.stderr).toBe(0);
    expect(fromPath.stdout).toMatch(/fc: 1000 → 3 classes, re-initialised/);
    expect(fromPath.stdout).toMatch(/frozen: conv1, bn1, layer1, layer2, layer3 .*training layer4, fc/);
    const home = join(dir, 'home-name');
    const named = await resnet(
      { RESNET_HOME: home, TORCH_HOME: join(dir, 'torch-home'), RESNET_WEIGHTS_MIRROR: `${origin}/models/` },
      'train',
      ...FOLDER,
      '--data',
      join(dir, 'photos'),
      '--weights',
      'IMAGENET1K_V1',
    );
    expect(named.code).toBe(1);
    expect(named.stderr.trim().split('\n')).toHaveLength(1);
    expect(named.stderr).toMatch(/^resnet train: .*resnet18-f37072fd\.pth/);
    expect(named.stderr).toMatch(/SHA-256/i);
    expect(existsSync(join(home, 'checkpoints')) ? readdirSync(join(home, 'checkpoints')) : []).toEqual([]);
    const unknown = await resnet(
      {},
      'train',
      ...FOLDER,
      '--arch',
      'resnet20',
      '--data',
      join(dir, 'photos'),
      '--weights',
      'IMAGENET1K_V1',
    );
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/weights: expected one of FASHION_MNIST, DEFAULT for resnet20; got "IMAGENET1K_V1"/);
    // resnet20's FASHION_MNIST (shipped in @resnet/zoo) takes one grey channel: not for RGB folders.
    const grey = await resnet(
      {},
      'train',
      ...FOLDER,
      '--arch',
      'resnet20',
      '--data',
      join(dir, 'photos'),
      '--weights',
      'FASHION_MNIST',
    );
    expect(grey.code).toBe(1);
    expect(grey.stderr.trim().split('\n')).toHaveLength(1);
    expect(grey.stderr).toMatch(/--weights FASHION_MNIST takes one grey channel \(32×32\); image folders train RGB models/);
  }, 600_000);
});
