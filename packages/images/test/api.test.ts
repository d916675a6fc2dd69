import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@resnet/backends';
import { ArgumentError, FormatError } from '@resnet/core';
import * as images from '@resnet/images/node';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { difference } from './reference.js';

const SKIMAGE = '/usr/lib/python3/dist-packages/skimage/data';
const V1 = images.imageClassification({ cropSize: 224 });

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

/** A small RGBA image with known values (alpha must be dropped, not composited). */
const rgba = { width: 2, height: 1, data: Uint8Array.from([10, 20, 30, 0, 200, 100, 50, 128]) };

describe('inputs become RGB as PIL’s convert("RGB")', () => {
  it('pixel arrays of 1, 2, 3 and 4 channels: grey replicated, alpha dropped', async () => {
    expect(Array.from((await images.toRGB(rgba)).data)).toEqual([10, 20, 30, 200, 100, 50]);
    const la = { width: 2, height: 1, channels: 2 as const, data: [7, 0, 9, 255] };
    expect(Array.from((await images.toRGB(la)).data)).toEqual([7, 7, 7, 9, 9, 9]);
    const grey = { width: 1, height: 2, data: Uint8Array.from([3, 4]) };
    expect(Array.from((await images.toRGB(grey)).data)).toEqual([3, 3, 3, 4, 4, 4]);
  });

  it('a tf.Tensor3D of 0–255 values (int32 or float32), read and left alive', async () => {
    const t = tf.tensor3d([10, 20, 30, 0, 200, 100, 50, 128], [1, 2, 4], 'int32');
    const f = tf.tensor3d([1, 2, 3], [1, 1, 3], 'float32');
    expect(Array.from((await images.toRGB(t)).data)).toEqual([10, 20, 30, 200, 100, 50]);
    expect(Array.from((await images.toRGB(f)).data)).toEqual([1, 2, 3]);
    expect(t.isDisposed || f.isDisposed).toBe(false);
    tf.dispose([t, f]);
  });

  it('a path, a Buffer and an ArrayBuffer of the same file give the same image', async () => {
    const path = `${SKIMAGE}/chelsea.png`;
    const fromPath = await images.toRGB(path);
    const bytes = (await import('node:fs')).readFileSync(path);
    const fromBuffer = await images.toRGB(bytes);
    const fromArrayBuffer = await images.toRGB(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    expect([fromPath.width, fromPath.height]).toEqual([451, 300]);
    expect(Buffer.compare(fromBuffer.data, fromPath.data)).toBe(0);
    expect(Buffer.compare(fromArrayBuffer.data, fromPath.data)).toBe(0);
  });
});

describe('preprocess', () => {
  it('gives the NHWC batch of one that preprocessToHost computes, and one tensor only', async () => {
    const before = tf.memory().numTensors;
    const x = await images.preprocess(`${SKIMAGE}/coffee.png`, V1);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(x.shape).toEqual([1, 224, 224, 3]);
    expect(x.dtype).toBe('float32');
    const host = await images.preprocessToHost(`${SKIMAGE}/coffee.png`, V1);
    expect(host.shape).toEqual([1, 224, 224, 3]);
    expect(difference(x.dataSync(), host.data).max).toBe(0);
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('preprocessBatch stacks images of any sizes and kinds in order', async () => {
    const t = tf.tidy(() => tf.fill([300, 200, 3], 128, 'int32') as tf.Tensor3D);
    const before = tf.memory().numTensors;
    const batch = await images.preprocessBatch([`${SKIMAGE}/camera.png`, t, rgba], V1);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(batch.shape).toEqual([3, 224, 224, 3]);
    const one = await images.preprocessToHost(`${SKIMAGE}/camera.png`, V1);
    const first = tf.slice(batch, [0], [1]);
    expect(difference(first.dataSync(), one.data).max).toBe(0);
    first.dispose();
    tf.dispose([batch, t]);
  });

  it('a uniform image normalises to ((v/255) − mean)/std in every pixel', async () => {
    const grey = { width: 300, height: 250, data: new Uint8Array(300 * 250).fill(128), channels: 1 as const };
    const host = await images.preprocessToHost(grey, V1);
    const expected = [0, 1, 2].map(
      (c) => ((128 / 255 - (images.IMAGENET_MEAN[c] as number)) / (images.IMAGENET_STD[c] as number)) as number,
    );
    const d = difference(
      host.data,
      Float32Array.from(host.data, (_, i) => expected[i % 3] as number),
    );
    expect(d.max).toBeLessThan(1e-6);
  });
});

describe('the pieces', () => {
  it('resizedSize truncates the long side as torchvision (int(256 * 451 / 300) = 384)', () => {
    expect(images.resizedSize(300, 451, 256)).toEqual([256, 384]);
    expect(images.resizedSize(600, 512, 232)).toEqual([271, 232]);
    expect(images.resizedSize(7, 5, 256)).toEqual([358, 256]);
  });

  it('centerCropBox rounds half to even and pads smaller sides as torchvision', () => {
    expect(images.centerCropBox(257, 259, 224, 224)).toEqual({ top: 16, left: 18 });
    expect(images.centerCropBox(61, 300, 224, 224)).toEqual({ top: -81, left: 38 });
  });

  it('ImageTransforms is plain data that survives JSON', () => {
    expect(JSON.parse(JSON.stringify(V1))).toEqual({
      resizeSize: 256,
      cropSize: 224,
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
      interpolation: 'bilinear',
    });
  });
});

describe('errors name the argument, the expectation, what was received and the fix', () => {
  it('bad inputs', async () => {
    await expect(images.toRGB(42 as never)).rejects.toThrow(/^image: expected an image; got 42\. Pass decoded pixels/);
    await expect(images.toRGB({ width: 2, height: 2, data: new Uint8Array(5) })).rejects.toThrow(
      /image\.data: expected 4 pixels × 1, 2, 3 or 4 channels \(2×2\); got "5 values"/,
    );
    await expect(images.toRGB({ width: 1, height: 1, data: [0.5, 0.5, 0.5] })).rejects.toThrow(
      /image\.data\[0\]: expected an integer from 0 to 255; got 0\.5\. Pass 8-bit values/,
    );
    const t4 = tf.zeros([1, 4, 4, 3]);
    await expect(images.toRGB(t4)).rejects.toThrow(/a tf\.Tensor3D \[height, width, channels\].*squeeze/);
    t4.dispose();
    await expect(images.preprocessBatch([], V1)).rejects.toThrow(ArgumentError);
  });

  it('bad files: missing, not an image, another format, truncated', async () => {
    await expect(images.toRGB('/nonexistent/cat.png')).rejects.toThrow(
      /path: expected a readable PNG or JPEG file; got "\/nonexistent\/cat.png"\. No such file/,
    );
    expect(() => images.decodeImage(new TextEncoder().encode('hello'))).toThrow(
      /expected a PNG or JPEG file; got bytes starting 68 65 6c 6c 6f\. Convert it/,
    );
    const gif = Uint8Array.from([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 1, 0, 1, 0]);
    expect(() => images.decodeImage(gif, 'x.gif')).toThrow(/x\.gif: expected a PNG or JPEG file; got a GIF file/);
    // python3-skimage ships a truncated JPEG; PIL refuses it ("image file is truncated").
    expect(() => images.readImage(`${SKIMAGE}/truncated.jpg`)).toThrow(FormatError);
    const png = (await import('node:fs')).readFileSync(`${SKIMAGE}/coffee.png`);
    const cut = join(tmpdir(), `resnet-images-cut-${process.pid}.png`);
    writeFileSync(cut, png.subarray(0, png.length >> 1));
    expect(() => images.readImage(cut)).toThrow(/resnet-images-cut-\d+\.png: cannot decode the PNG/);
  });

  it('a PNG that claims more pixels than PIL accepts is refused before inflating', () => {
    const png = Uint8Array.from((require('node:fs') as typeof import('node:fs')).readFileSync(`${SKIMAGE}/coffee.png`));
    new DataView(png.buffer).setUint32(16, 100_000);
    new DataView(png.buffer).setUint32(20, 100_000);
    expect(() => images.decodeImage(png, 'bomb.png')).toThrow(
      /bomb\.png: the image is 100000×100000 .* more than the 178956970 PIL accepts/,
    );
  });

  it('bad transforms', () => {
    const img = images.rgbImage(4, 4);
    expect(() => images.applyTransforms(img, { ...V1, cropSize: 0 })).toThrow(
      /transforms\.cropSize: expected an integer from 1 to 16384 \(pixels\); got 0/,
    );
    expect(() => images.applyTransforms(img, { ...V1, interpolation: 'bicubic' as 'bilinear' })).toThrow(
      /transforms\.interpolation: expected 'bilinear'/,
    );
    expect(() => images.applyTransforms(img, { ...V1, std: [0.2, 0, 0.2] })).toThrow(/transforms\.std/);
    expect(() => images.applyTransforms(img, { ...V1, resize: 3 } as never)).toThrow(
      /transforms\.resize: expected one of/,
    );
    expect(() => images.resize(img, -1)).toThrow(
      /size: expected a positive integer \(the shorter side\) or \[height, width\]; got -1/,
    );
    expect(() => images.crop(img, 0, 0, 0, 1)).toThrow(/height: expected a positive integer/);
  });

  it('bad grey transforms: channels 1 or 3, and one mean and std per channel', () => {
    const img = images.rgbImage(4, 4);
    const grey = images.imageClassification({ cropSize: 4, resizeSize: 4, mean: [0.5], std: [0.25], channels: 1 });
    expect(images.applyTransforms(img, grey).shape).toEqual([1, 4, 4, 1]);
    expect(() => images.applyTransforms(img, { ...grey, channels: 2 as 1 })).toThrow(
      "transforms.channels: expected 1 (grey) or 3 (RGB, the default); got 2. Leave it out for RGB networks",
    );
    expect(() => images.applyTransforms(img, { ...grey, mean: [0.5, 0.5, 0.5] })).toThrow(
      /transforms\.mean: expected one finite number \(grey, on the 0–1 scale\) for channels: 1; got \[0\.5, 0\.5, 0\.5\]. Pass e\.g\. \[0\.286\] for one channel/,
    );
    expect(() => images.applyTransforms(img, { ...V1, mean: [0.5] })).toThrow(
      /transforms\.mean: expected three finite numbers \(R, G, B on the 0–1 scale\)/,
    );
    expect(() => images.applyTransforms(img, { ...grey, std: [0] })).toThrow(/transforms\.std: expected non-zero/);
    // channels: 3 is the default, spelled out.
    expect(images.applyTransforms(img, { ...V1, channels: 3 }).data).toEqual(images.applyTransforms(img, V1).data);
    expect(() => images.normalizationTable(0.5, Number.NaN)).toThrow(/std: expected a finite number/);
  });
});

describe('one grey channel', () => {
  it('a uniform grey image normalises to ((v/255) − mean)/std in float32 steps, padded with normalised black', async () => {
    const grey = images.imageClassification({ cropSize: 6, resizeSize: 4, mean: [0.3], std: [0.4], channels: 1 });
    const x = await images.preprocess({ width: 4, height: 4, channels: 1, data: new Uint8Array(16).fill(200) }, grey);
    expect(x.shape).toEqual([1, 6, 6, 1]);
    const data = await x.data();
    x.dispose();
    const f = Math.fround;
    const inside = f(f(f(200 / 255) - f(0.3)) / f(0.4));
    const black = f(f(0 - f(0.3)) / f(0.4));
    for (let y = 0; y < 6; y++)
      for (let xx = 0; xx < 6; xx++)
        expect(data[y * 6 + xx]).toBe(y >= 1 && y < 5 && xx >= 1 && xx < 5 ? inside : black);
  });

  it('greyLevels of colours: ITU-R 601-2 luma, rounded as PIL rounds it (pure colours, mid grey)', () => {
    // PIL: L = R·299/1000 + G·587/1000 + B·114/1000 → 76, 150, 29 for pure red, green, blue.
    const img = { width: 4, height: 1, data: Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 128, 128, 128]) };
    expect(Array.from(images.greyLevels(img))).toEqual([76, 150, 29, 128]);
    expect(Array.from(images.greyscale(img).data.subarray(0, 3))).toEqual([76, 76, 76]);
  });
});

describe('encodePng', () => {
  it('writes grey, grey+alpha, RGB and RGBA losslessly: decoding gives the pixels back as convert("RGB")', async () => {
    const photo = images.readImage(`${SKIMAGE}/chelsea.png`);
    expect(Buffer.compare(images.decodeImage(images.encodePng(photo)).data, photo.data)).toBe(0);
    const grey = { width: 3, height: 1, channels: 1 as const, data: Uint8Array.from([0, 128, 255]) };
    expect(Array.from(images.decodeImage(images.encodePng(grey)).data)).toEqual([
      0, 0, 0, 128, 128, 128, 255, 255, 255,
    ]);
    expect(Array.from(images.decodeImage(images.encodePng(rgba)).data)).toEqual([10, 20, 30, 200, 100, 50]);
    const la = { width: 1, height: 1, channels: 2 as const, data: Uint8Array.from([7, 0]) };
    expect(Array.from(images.decodeImage(images.encodePng(la)).data)).toEqual([7, 7, 7]);
  });

  it('refuses pixels that do not fit their size, naming the argument', () => {
    expect(() => images.encodePng({ width: 2, height: 2, data: new Uint8Array(5) })).toThrow(/pixels\.data: expected/);
    expect(() => images.encodePng({ width: 0, height: 2, data: new Uint8Array(0) })).toThrow(/pixels\.width\/height/);
    expect(() => images.encodePng({ width: 1, height: 1, data: [1, 2, 3] })).toThrow(/Uint8Array/);
  });
});
