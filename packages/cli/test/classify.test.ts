import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HostTensor, parseNpy } from '@resnet/core';
import { initBackend } from '@resnet/backends';
import { Rng, Sgd } from '@resnet/train';
import { saveCheckpoint } from '@resnet/train/node';
import { createModel } from '@resnet/zoo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClassifyManifest,
  classifyFixturePath,
  classifyManifest,
  type TorchPrediction,
} from '../../../tools/test-support/classify-fixtures.js';
import { nchwToNhwc } from '../../../tools/test-support/fixtures.js';
import { startWeightsServer, type WeightsServer } from '../../../tools/test-support/weights-server.js';
import { expectRefusal, filesUnder, lastLine, readNpy, resnet } from './helpers.js';

// `resnet classify` and `resnet preprocess` as a user runs them (the built bin in a child process),
// against torchvision on real photos (python3-skimage's and matplotlib's): the checkpoint made by
// Debian's torch (tools/weights/classify_reference.py) is downloaded from a server on 127.0.0.1
// through RESNET_WEIGHTS_MIRROR under the official URL of its own name, verified as any download.
const PNG = ['chelsea.png', 'astronaut.png', 'camera.png'];
const JPEG = ['grace_hopper.jpg', 'rocket.jpg', 'hubble_deep_field.jpg'];
/**
 * JPEG: Node decodes with jpeg-js, PIL with libjpeg-turbo (a few uint8 levels apart, see
 * @resnet/images' README); the top-5 classes must be torchvision's and the probabilities may differ
 * by this much. Measured on 2026-12-06: 3.4e-3 (grace_hopper), 3.5e-3 (rocket), 1.05e-2 (hubble).
 */
const JPEG_PROBABILITY_TOLERANCE = 0.02;
/**
 * @resnet/images' stated differences after IMAGENET1K_V2's transforms (its README), in uint8
 * levels of the resized image: the largest per photo.
 */
const JPEG_LEVELS: Record<string, number> = { 'grace_hopper.jpg': 11, 'rocket.jpg': 2, 'hubble_deep_field.jpg': 1 };

let manifest: ClassifyManifest;
let server: WeightsServer;
let scratch: string;
let home: string;
let url: string;
const saved = { ...process.env };
const photo = (name: string) => manifest.photos.find((p) => p.name === name) as ClassifyManifest['photos'][number];
const torchInput = (name: string): HostTensor => parseNpy(readFileSync(classifyFixturePath(`${name}.input.npy`)));
const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

beforeAll(async () => {
  manifest = classifyManifest();
  const path = classifyFixturePath(manifest.checkpoint.file);
  server = await startWeightsServer({ ...manifest.checkpoint, path, bytes: readFileSync(path) });
  scratch = mkdtempSync(join(tmpdir(), 'resnet-cli-classify-'));
  home = join(scratch, 'home');
  process.env.RESNET_HOME = home;
  process.env.TORCH_HOME = join(scratch, 'torch');
  process.env.RESNET_WEIGHTS_MIRROR = `${server.origin}/models/`;
  url = `https://download.pytorch.org/models/${manifest.checkpoint.file}`;
});

afterAll(async () => {
  process.env = { ...saved };
  await server?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('resnet classify', () => {
  it('gives torchvision’s top-5 on PNG and JPEG photos (--json), downloading the weights once', async () => {
    const images = [...PNG, ...JPEG].map((n) => photo(n).path);
    const r = await resnet(
      'classify',
      ...images,
      '--arch',
      'resnet50',
      '--weights',
      url,
      '--json',
      '--backend',
      'wasm',
    );
    expect(r.code, r.stderr).toBe(0);
    const results = JSON.parse(lastLine(r.stdout)) as { image: string; top: TorchPrediction[] }[];
    expect(results.map((x) => x.image)).toEqual(images);
    for (const [i, name] of [...PNG, ...JPEG].entries()) {
      const top = (results[i] as { top: TorchPrediction[] }).top;
      const expected = photo(name).top5;
      expect(
        top.map((p) => [p.index, p.label]),
        name,
      ).toEqual(expected.map((p) => [p.index, p.label]));
      const worst = Math.max(
        ...top.map((p, k) => Math.abs(p.probability - (expected[k] as TorchPrediction).probability)),
      );
      console.log(
        `${name}: torchvision's top-5 (${expected.map((p) => p.index).join(', ')}), largest probability difference ${worst.toExponential(2)}`,
      );
      expect(worst, name).toBeLessThan(name.endsWith('.png') ? 1e-4 : JPEG_PROBABILITY_TOLERANCE);
    }
    expect(filesUnder(join(home, 'checkpoints'))).toEqual([manifest.checkpoint.file]);
    expect(server.count(`/models/${manifest.checkpoint.file}`)).toBe(1);

    // A table without --json, from the cache (no request).
    const text = await resnet(
      'classify',
      photo('chelsea.png').path,
      '--arch',
      'resnet50',
      '--weights',
      url,
      '--topk',
      '2',
    );
    expect(text.code, text.stderr).toBe(0);
    const [first, second] = photo('chelsea.png').top5;
    expect(text.stdout).toMatch(
      new RegExp(
        `^.*chelsea\\.png\\n\\s+1\\. ${escapeRegExp(first?.label ?? '')} \\(${first?.index}\\)\\s+${((first?.probability ?? 0) * 100).toFixed(2)}%\\n\\s+2\\. ${escapeRegExp(second?.label ?? '')} \\(${second?.index}\\)`,
      ),
    );
    expect(server.count(`/models/${manifest.checkpoint.file}`)).toBe(1);
  }, 300_000);

  it('takes a local .pth path', async () => {
    const r = await resnet(
      'classify',
      photo('camera.png').path,
      '--arch',
      'resnet50',
      '--weights',
      classifyFixturePath(manifest.checkpoint.file),
      '--topk',
      '1',
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(lastLine(r.stdout))[0].top[0].index).toBe(photo('camera.png').top5[0]?.index);
  });

  it('default weights are the arch’s DEFAULT: torchvision’s file through the mirror, refused because the test server’s bytes are not it', async () => {
    const r = await resnet('classify', photo('chelsea.png').path, '--arch', 'resnet50');
    expectRefusal(
      r,
      1,
      /resnet50-11ad3fa6\.pth: the \d+ bytes received do not match the SHA-256 prefix in the file name.*expected SHA-256 11ad3fa6…, got [0-9a-f]{64}; nothing was kept/,
    );
    expect(r.stdout).toBe('');
    expect(filesUnder(home).filter((f) => f.includes('11ad3fa6'))).toEqual([]);
  });

  it('refuses bad input with one line and nothing on stdout', async () => {
    const notImage = join(scratch, 'notes.png');
    writeFileSync(notImage, 'not an image');
    const checkpoint = join(scratch, 'checkpoint.safetensors');
    await initBackend({ prefer: 'wasm' });
    const trained = createModel('resnet18');
    saveCheckpoint(checkpoint, trained, new Sgd(trained.namedParameters(), { lr: 0.1 }), {
      epoch: 1,
      rng: new Rng(0).getState(),
    });
    trained.dispose();
    const chelsea = photo('chelsea.png').path;
    const cases: [string[], number, RegExp][] = [
      [
        ['classify', 'no-such.png', '--arch', 'resnet50', '--weights', url],
        1,
        /^resnet classify: no image at no-such\.png/,
      ],
      [['classify', notImage, '--arch', 'resnet50', '--weights', url], 1, /notes\.png.*PNG or JPEG/],
      [['classify', chelsea, '--weights', url], 2, /^resnet classify: --arch is required/],
      [
        ['classify', chelsea, '--arch', 'resnet56'],
        1,
        /^resnet classify: arch: expected an architecture with pretrained weights .*no published weights/,
      ],
      [
        ['classify', chelsea, '--arch', 'resnet50', '--weights', 'IMAGENET1K_V3'],
        1,
        /weights: expected one of IMAGENET1K_V1, IMAGENET1K_V2, DEFAULT for resnet50/,
      ],
      [
        ['classify', chelsea, '--arch', 'resnet50', '--weights', join(scratch, 'none.pth')],
        1,
        /weights: expected a NAME .* or an existing file/,
      ],
      [
        ['classify', chelsea, '--arch', 'resnet50', '--weights', notImage],
        1,
        /notes\.png: not a weights file that can be read/,
      ],
      [
        ['classify', chelsea, '--arch', 'resnet50', '--weights', url, '--topk', '0'],
        2,
        /--topk expects an integer from 1/,
      ],
      [
        ['classify', chelsea, '--arch', 'resnet50', '--weights', url, '--topk', '1001'],
        1,
        /--topk 1001 is more than the 1000 classes/,
      ],
      [
        ['classify', chelsea, '--arch', 'resnet101', '--weights', url],
        1,
        /weights do not fit the model: missing \d+ \(layer3\.6/,
      ],
      [
        ['classify', chelsea, '--arch', 'resnet50', '--weights', checkpoint],
        1,
        /checkpoint\.safetensors is a checkpoint of resnet train/,
      ],
    ];
    for (const [argv, code, message] of cases) {
      const r = await resnet(...argv);
      expectRefusal(r, code, message);
      expect(r.stdout, argv.join(' ')).toBe('');
    }
  }, 300_000);
});

describe('resnet preprocess', () => {
  it('writes the tensor torchvision’s transforms make: PNG bit for bit, JPEG within @resnet/images’ figures', async () => {
    for (const name of ['chelsea.png', 'camera.png', ...JPEG]) {
      const out = join(scratch, `${name}.npy`);
      const r = await resnet('preprocess', photo(name).path, '--arch', 'resnet50', '--output', out, '--layout', 'nchw');
      expect(r.code, r.stderr).toBe(0);
      const ours = readNpy(out);
      const torch = torchInput(name);
      expect(ours.shape).toEqual([1, 3, 224, 224]);
      let levels = 0; // |difference| in uint8 levels: × 255 × std of the channel
      const std = [0.229, 0.224, 0.225];
      ours.data.forEach((v, i) => {
        const d = Math.abs(v - (torch.data[i] as number)) * 255 * (std[Math.floor(i / (224 * 224))] as number);
        if (d > levels) levels = d;
      });
      if (name.endsWith('.png')) expect(Array.from(ours.data), name).toEqual(Array.from(torch.data));
      else expect(levels, name).toBeLessThanOrEqual((JPEG_LEVELS[name] as number) + 1e-3);
    }
    const nhwc = join(scratch, 'chelsea-nhwc.npy');
    const r = await resnet(
      'preprocess',
      photo('chelsea.png').path,
      '--arch',
      'resnet50',
      '--weights',
      'DEFAULT',
      '--output',
      nhwc,
    );
    expect(r.code, r.stderr).toBe(0);
    const ours = readNpy(nhwc);
    expect(ours.shape).toEqual([1, 224, 224, 3]);
    expect(Array.from(ours.data)).toEqual(Array.from(nchwToNhwc(torchInput('chelsea.png')).data));
  });

  it('applies the named weights’ transforms and refuses what it cannot do, writing nothing', async () => {
    const v1 = join(scratch, 'v1.npy');
    const r = await resnet(
      'preprocess',
      photo('chelsea.png').path,
      '--arch',
      'resnet50',
      '--weights',
      'IMAGENET1K_V1',
      '--output',
      v1,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resize 256, crop 224/);
    const dir = join(scratch, 'a-directory.npy');
    mkdirSync(dir);
    const missing = join(scratch, 'never.npy');
    const cases: [string[], number, RegExp][] = [
      [['preprocess', 'no-such.png', '--arch', 'resnet50', '--output', missing], 1, /no-such\.png.*No such file/],
      [
        ['preprocess', photo('chelsea.png').path, '--arch', 'resnet50', '--output', dir],
        1,
        /cannot write .*a-directory\.npy: it is a directory/,
      ],
      [
        ['preprocess', photo('chelsea.png').path, '--arch', 'resnet50', '--output', missing, '--layout', 'chw'],
        2,
        /--layout expects one of nhwc, nchw/,
      ],
      [['preprocess', photo('chelsea.png').path, '--arch', 'resnet50'], 2, /--output is required/],
      [
        ['preprocess', photo('chelsea.png').path, '--arch', 'plain20', '--output', missing],
        1,
        /arch: expected an architecture with pretrained weights/,
      ],
    ];
    for (const [argv, code, message] of cases) expectRefusal(await resnet(...argv), code, message);
    expect(existsSync(missing)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });
});
