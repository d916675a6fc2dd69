import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@resnet/backends';
import { exportStateDict, hostToTensor, loadWeights, memorySource, readSafetensors } from '@resnet/core';
import { Rng, Sgd } from '@resnet/train';
import { saveCheckpoint } from '@resnet/train/node';
import { fileSystem, readNpyFile, readStateDictFile } from '@resnet/core/node';
import { createModel, getWeights, listWeights } from '@resnet/zoo';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare } from '../../../tools/test-support/fixtures.js';
import { pthFixturePath, pthManifest, type PthManifest } from '../../../tools/test-support/pth-fixtures.js';
import { type Checkpoint, startWeightsServer, type WeightsServer } from '../../../tools/test-support/weights-server.js';
import { expectRefusal, lastLine, readNpy, resnet } from './helpers.js';

// `resnet weights list|download|convert` and `resnet run` with .pth files, as a user runs them.
// The .pth files are torch.save's (tools/fixtures/pth.py, Debian's torch): resnet18 with seeded
// weights, its input and torchvision's output. Downloads come from a server on 127.0.0.1.
let pth: PthManifest;
let resnet18: string;
let server: WeightsServer;
let checkpoint: Checkpoint;
let scratch: string;
let home: string;
const saved = { ...process.env };
const files = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).sort() : []);

beforeAll(async () => {
  pth = pthManifest();
  const entry = pth.files.resnet18 as PthManifest['files'][string];
  resnet18 = pthFixturePath(entry.file);
  checkpoint = {
    file: entry.file,
    path: resnet18,
    sha256: entry.sha256,
    size: entry.bytes,
    bytes: readFileSync(resnet18),
  };
  server = await startWeightsServer(checkpoint);
  scratch = mkdtempSync(join(tmpdir(), 'resnet-cli-weights-'));
  home = join(scratch, 'home');
  process.env.RESNET_HOME = home;
  process.env.TORCH_HOME = join(scratch, 'torch');
  process.env.RESNET_WEIGHTS_MIRROR = `${server.origin}/models/`;
  await initBackend({ prefer: 'wasm' });
});

afterAll(async () => {
  process.env = { ...saved };
  await server?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('resnet weights list', () => {
  it('--json lists the registry’s entries (without category names) and where a copy is', async () => {
    const torchCopy = join(scratch, 'torch', 'hub', 'checkpoints', getWeights('resnet18').fileName);
    mkdirSync(join(scratch, 'torch', 'hub', 'checkpoints'), { recursive: true });
    writeFileSync(torchCopy, 'a file torch.hub left there');
    const r = await resnet('weights', 'list', '--json');
    expect(r.code, r.stderr).toBe(0);
    const listed = JSON.parse(lastLine(r.stdout)) as Record<string, unknown>[];
    expect(listed.map(({ local: _, ...e }) => e)).toEqual(
      JSON.parse(JSON.stringify(listWeights().map(({ categories: _, ...e }) => e))),
    );
    expect(listed.find((e) => e.fileName === getWeights('resnet18').fileName)?.local).toBe(torchCopy);
    expect(listed.filter((e) => e.local !== null)).toHaveLength(1);
    rmSync(join(scratch, 'torch'), { recursive: true });

    const table = await resnet('weights', 'list');
    expect(table.stdout).toMatch(/resnet50\s+IMAGENET1K_V2 \(DEFAULT\)\s+80\.858\s+95\.434\s+97\.8\s+232 → 224\s+ImageNet-1K/);
    // Ours: trained on Fashion-MNIST, inside the package (its accuracy is the measured one).
    const ours = getWeights('resnet20', 'FASHION_MNIST');
    expect(table.stdout).toMatch(
      new RegExp(
        `resnet20\\s+FASHION_MNIST \\(DEFAULT\\)\\s+${ours.meta.acc1.toFixed(3)}\\s+.*28 → 32, grey\\s+Fashion-MNIST \\(ours, resnet train\\)\\s+inside @resnet/zoo`,
      ),
    );
  });
});

describe('resnet weights download', () => {
  it('downloads a verified file into $RESNET_HOME/checkpoints and prints its path', async () => {
    const url = `https://download.pytorch.org/models/${checkpoint.file}`;
    const r = await resnet('weights', 'download', 'resnet18', '--weights', url);
    expect(r.code, r.stderr).toBe(0);
    const path = join(home, 'checkpoints', checkpoint.file);
    expect(lastLine(r.stdout)).toBe(path);
    expect(r.stderr).toContain(`downloaded, 44.7 MB, SHA-256 ${checkpoint.sha256}`);
    expect(readFileSync(path).equals(checkpoint.bytes)).toBe(true);
    const again = await resnet('weights', 'download', 'resnet18', '--weights', url);
    expect(again.stderr).toContain('already in the cache');
    expect(server.count(`/models/${checkpoint.file}`)).toBe(1);
  });

  it('refuses a file whose hash does not match its name, and bad arguments, with one line', async () => {
    const before = files(join(home, 'checkpoints'));
    expectRefusal(
      await resnet('weights', 'download', 'resnet18'),
      1,
      /resnet18-f37072fd\.pth: the \d+ bytes received do not match/,
    );
    expect(files(join(home, 'checkpoints'))).toEqual(before);
    expectRefusal(await resnet('weights', 'download'), 2, /weights download takes 1 argument, got 0/);
    expectRefusal(
      await resnet('weights', 'download', 'resnet56'),
      1,
      /arch: expected an architecture with pretrained weights/,
    );
    expectRefusal(
      await resnet('weights', 'download', 'resnet20'),
      1,
      /resnet20 FASHION_MNIST ships inside @resnet\/zoo.*Nothing to download/,
    );
    expectRefusal(
      await resnet('weights', 'download', 'resnet18', '--arch', 'x'),
      2,
      /--arch does not apply to weights download/,
    );
    expectRefusal(
      await resnet('weights', 'fetch'),
      2,
      /unknown subcommand "fetch"; expected list, download or convert/,
    );
  });
});

describe('resnet weights convert', () => {
  it('.pth → .safetensors: the same tensors under the same names (counters as I64)', async () => {
    const out = join(scratch, 'r18.safetensors');
    const r = await resnet('weights', 'convert', resnet18, out);
    expect(r.code, r.stderr).toBe(0);
    const bytes = new Uint8Array(readFileSync(out));
    const header = JSON.parse(
      new TextDecoder().decode(bytes.subarray(8, 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true)))),
    );
    expect(header['bn1.num_batches_tracked'].dtype).toBe('I64');
    expect(header.__metadata__).toEqual({ format: 'pt' });
    const written = readSafetensors(memorySource(bytes)).tensors;
    const original = readStateDictFile(resnet18).tensors;
    expect([...written.keys()]).toEqual([...original.keys()]);
    for (const [name, t] of original) {
      expect(written.get(name)?.shape, name).toEqual(t.shape);
      const w = written.get(name)?.data as Float32Array;
      expect(
        Buffer.from(w.buffer, w.byteOffset, w.byteLength).equals(
          Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
        ),
        name,
      ).toBe(true);
    }
  });

  it('a checkpoint of resnet train → its model’s state_dict', async () => {
    const model = createModel('resnet18', { numClasses: 10, seed: 1 });
    const checkpoint = join(scratch, 'trained.safetensors');
    saveCheckpoint(checkpoint, model, new Sgd(model.namedParameters(), { lr: 0.1, momentum: 0.9 }), {
      epoch: 3,
      rng: new Rng(0).getState(),
    });
    const expected = exportStateDict(model);
    model.dispose();
    const out = join(scratch, 'trained-weights.safetensors');
    const r = await resnet('weights', 'convert', checkpoint, out);
    expect(r.code, r.stderr).toBe(0);
    const written = readStateDictFile(out).tensors;
    expect([...written.keys()]).toEqual([...expected.keys()]);
    for (const [name, t] of expected)
      expect(Array.from(written.get(name)?.data ?? []), name).toEqual(Array.from(t.data));
  });

  it('.pth → a directory in the TensorFlow.js format that loadWeights reads back to torchvision’s output', async () => {
    const out = join(scratch, 'web', 'resnet18');
    const r = await resnet('weights', 'convert', resnet18, `${out}/`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resnet18 in the TensorFlow\.js format \(model\.json and \d+ shards/);
    expect(files(out)).toContain('model.json');
    expect(files(join(scratch, 'web'))).toEqual(['resnet18']); // no partial directory left
    const model = createModel('resnet18');
    await loadWeights(model, fileSystem(out));
    const entry = pth.files.resnet18 as PthManifest['files'][string];
    const x = tf.tidy(() => tf.transpose(hostToTensor(readNpy(pthFixturePath(entry.input as string))), [0, 2, 3, 1]));
    const y = model.predict(x);
    const expected = await readNpyFile(pthFixturePath(entry.output as string));
    expect(compare(await y.data(), expected.data).relative).toBeLessThan(1e-4);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('refuses what it cannot convert, leaving nothing behind', async () => {
    const full = join(scratch, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'keep.txt'), 'mine');
    const text = join(scratch, 'notes.pth');
    writeFileSync(text, 'not weights');
    const views = pthFixturePath((pth.files.views as PthManifest['files'][string]).file);
    const cases: [string[], number, RegExp][] = [
      [[resnet18, `${full}/`], 1, /full\/ is not empty; convert into a new or empty directory/],
      [[resnet18, join(scratch, 'out.bin')], 2, /the output must be a \.safetensors file or a directory/],
      [[text, join(scratch, 'out.safetensors')], 1, /notes\.pth: not a weights file that can be read/],
      [[join(scratch, 'none.pth'), join(scratch, 'out.safetensors')], 1, /file not found: .*none\.pth/],
      [[views, join(scratch, 'views-tfjs/')], 1, /is not the state_dict of any preset .* pass --arch/],
      [
        [resnet18, join(scratch, 'r34/'), '--arch', 'resnet34'],
        1,
        /weights do not fit the model: missing \d+ \(layer1\.2/,
      ],
      [[resnet18, join(scratch, 'x.safetensors'), '--json'], 2, /--json does not apply to weights convert/],
    ];
    for (const [argv, code, message] of cases)
      expectRefusal(await resnet('weights', 'convert', ...argv), code, message);
    expect(files(full)).toEqual(['keep.txt']);
    for (const name of ['out.bin', 'out.safetensors', 'views-tfjs', 'r34', 'x.safetensors'])
      expect(existsSync(join(scratch, name)), name).toBe(false);
    expect(files(scratch).filter((f) => f.includes('partial'))).toEqual([]);
  });
});

describe('resnet run with a .pth', () => {
  it('reads torch.save’s file and gives torchvision’s output', async () => {
    const entry = pth.files.resnet18 as PthManifest['files'][string];
    const out = join(scratch, 'y.npy');
    const copy = join(scratch, 'resnet18.pth');
    copyFileSync(resnet18, copy);
    const r = await resnet(
      'run',
      'resnet18',
      '--weights',
      copy,
      '--input',
      pthFixturePath(entry.input as string),
      '--output',
      out,
      '--layout',
      'nchw',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(compare(readNpy(out).data, readNpy(pthFixturePath(entry.output as string)).data).relative).toBeLessThan(
      1e-4,
    );
  });
});
