import {
  IMAGENET_STD,
  applyTransforms,
  centerCrop,
  greyLevels,
  imageClassification,
  readImage,
  resize,
  resizeTo,
} from '@resnet/images/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Reference, coordinateImage, difference, generateReference } from './reference.js';

// Every expected value comes from Debian's PIL 9.4 and torchvision 0.14.1 (tools/images/reference.py)
// on photos shipped by python3-skimage and python-matplotlib-data, and PNGs derived from them.
const V1 = imageClassification({ cropSize: 224 }); // ResNet50_Weights.IMAGENET1K_V1.transforms()
const V2 = imageClassification({ cropSize: 224, resizeSize: 232 }); // IMAGENET1K_V2.transforms()

/**
 * JPEG: jpeg-js (integer IDCT of pdf.js's lineage, nearest-neighbour chroma upsampling) is not
 * libjpeg-turbo (PIL: islow IDCT, "fancy" triangular chroma upsampling). Measured on 2026-12-06,
 * in uint8 levels: `decode` is Image.open(p).convert('RGB') against readImage(p); `v1`/`v2` are
 * the whole transform (difference ÷ (1/255/std), i.e. levels of the resized image). Bounds
 * asserted below; the largest decode differences sit on sharp red/blue edges (chroma).
 */
const JPEG_DIFFERENCES: Record<string, Record<'decode' | 'v1' | 'v2', { max: number; mean: number }>> = {
  'grace_hopper.jpg': { decode: { max: 46, mean: 1.04 }, v1: { max: 12, mean: 0.58 }, v2: { max: 11, mean: 0.55 } },
  'rocket.jpg': { decode: { max: 3, mean: 0.62 }, v1: { max: 2, mean: 0.62 }, v2: { max: 2, mean: 0.6 } },
  'hubble_deep_field.jpg': { decode: { max: 4, mean: 0.46 }, v1: { max: 2, mean: 0.33 }, v2: { max: 1, mean: 0.33 } },
  'retina.jpg': { decode: { max: 19, mean: 0.56 }, v1: { max: 2, mean: 0.44 }, v2: { max: 2, mean: 0.39 } },
  'camera-gray.jpg': { decode: { max: 1, mean: 0.07 }, v1: { max: 1, mean: 0.07 }, v2: { max: 1, mean: 0.07 } },
  'coffee-444.jpg': { decode: { max: 3, mean: 0.54 }, v1: { max: 3, mean: 0.47 }, v2: { max: 2, mean: 0.46 } },
};

let ref: Reference;
beforeAll(() => {
  ref = generateReference();
});
afterAll(() => ref?.remove());

const pilRgb = (name: string) => {
  const t = ref.npy(`${name}.rgb.npy`);
  return { width: t.shape[1] as number, height: t.shape[0] as number, data: Uint8Array.from(t.data) };
};

/** Normalised differences → uint8 levels: × 255 × std of the element's channel. */
function inLevels(ours: Float32Array, expected: ArrayLike<number>): { max: number; mean: number } {
  const levels = Float64Array.from(
    ours,
    (v, i) => Math.abs(v - (expected[i] as number)) * 255 * (IMAGENET_STD[i % 3] as number),
  );
  const d = difference(levels, new Float64Array(levels.length));
  // float32 rounding leaves ~1e-5 of a level around whole levels.
  return { max: Math.round(d.max * 1e3) / 1e3, mean: d.mean };
}

describe('reference', () => {
  it('is Debian bookworm PIL 9.4 and torchvision 0.14', () => {
    expect(ref.pil).toMatch(/^9\.4\./);
    expect(ref.torchvision).toMatch(/^0\.14\./);
    const kinds = ref.images.map((i) => i.name.split('.').pop());
    expect(kinds.filter((k) => k === 'png').length).toBeGreaterThanOrEqual(2);
    expect(kinds.filter((k) => k === 'jpg').length).toBeGreaterThanOrEqual(2);
    // Every colour type and bit depth PIL reads from PNG, and JPEG grey and colour.
    expect(new Set(ref.images.map((i) => i.mode))).toEqual(new Set(['RGB', 'L', 'LA', 'RGBA', 'P', 'I', '1']));
  });
});

describe('decoding: readImage(path) is PIL.Image.open(path).convert("RGB")', () => {
  it('PNG: identical for every colour type, bit depth (1–16), palette, tRNS and Adam7 interlacing', () => {
    const pngs = ref.images.filter((i) => i.name.endsWith('.png'));
    expect(pngs.length).toBeGreaterThanOrEqual(20);
    for (const img of pngs) {
      const ours = readImage(img.path);
      expect([img.name, ours.width, ours.height]).toEqual([img.name, img.width, img.height]);
      expect({ name: img.name, ...difference(ours.data, pilRgb(img.name).data) }).toEqual({
        name: img.name,
        max: 0,
        mean: 0,
      });
    }
  });

  it('JPEG: within the stated differences (another decoder than libjpeg-turbo)', () => {
    for (const [name, stated] of Object.entries(JPEG_DIFFERENCES)) {
      const img = ref.images.find((i) => i.name === name);
      if (!img) throw new Error(`${name} is not in the reference`);
      const ours = readImage(img.path);
      expect([ours.width, ours.height]).toEqual([img.width, img.height]);
      const d = difference(ours.data, pilRgb(name).data);
      console.log(`${name}: decode max ${d.max} levels, mean ${d.mean.toFixed(3)}`);
      expect(d.max, name).toBeLessThanOrEqual(stated.decode.max);
      expect(d.mean, name).toBeLessThanOrEqual(stated.decode.mean);
    }
  });
});

describe("resize is PIL's antialiased bilinear resize, bit for bit", () => {
  it('F.resize(img, 256) and F.resize(img, 232) on every image (long side truncated as torchvision does)', () => {
    for (const img of ref.images) {
      for (const size of [256, 232]) {
        const expected = ref.npy(`${img.name}.r${size}.npy`);
        const ours = resize(pilRgb(img.name), size);
        expect([img.name, ours.height, ours.width]).toEqual([img.name, expected.shape[0], expected.shape[1]]);
        expect([img.name, size, difference(ours.data, expected.data).max]).toEqual([img.name, size, 0]);
      }
    }
  });

  it('F.resize(img, [h, w]) to odd sizes, up and down, down to 1×1', () => {
    const coffee = readImage(ref.coffee);
    for (const { file, size } of ref.resizes) {
      const expected = ref.npy(file);
      const ours = resizeTo(coffee, size[0], size[1]);
      expect([size, difference(ours.data, expected.data).max]).toEqual([size, 0]);
    }
  });
});

describe("centerCrop is torchvision's F.center_crop", () => {
  it('offsets with round-half-to-even and zero padding of images smaller than the crop', () => {
    for (const { file, image, crop } of ref.crops) {
      const expected = ref.npy(file);
      const ours = centerCrop(coordinateImage(image[0], image[1]), [crop[0], crop[1]]);
      expect([image, crop, ours.height, ours.width]).toEqual([image, crop, expected.shape[0], expected.shape[1]]);
      expect([image, crop, difference(ours.data, expected.data).max]).toEqual([image, crop, 0]);
    }
  });
});

describe("the whole transform equals torchvision's weights.transforms()", () => {
  it('on PIL’s RGB of every image: IMAGENET1K_V1 (resize 256) and V2 (resize 232), identical float32', () => {
    for (const img of ref.images) {
      const rgb = pilRgb(img.name);
      for (const [tag, t] of [
        ['v1', V1],
        ['v2', V2],
      ] as const) {
        const ours = applyTransforms(rgb, t);
        expect(ours.shape).toEqual([1, 224, 224, 3]);
        expect([img.name, tag, difference(ours.data, ref.npy(`${img.name}.${tag}.npy`).data).max]).toEqual([
          img.name,
          tag,
          0,
        ]);
      }
    }
  });

  it('from PNG files: identical (so within one uint8 level, as promised, with room to spare)', () => {
    for (const img of ref.images.filter((i) => i.name.endsWith('.png'))) {
      const ours = readImage(img.path);
      for (const [tag, t] of [
        ['v1', V1],
        ['v2', V2],
      ] as const) {
        const d = inLevels(applyTransforms(ours, t).data as Float32Array, ref.npy(`${img.name}.${tag}.npy`).data);
        expect([img.name, tag, d.max]).toEqual([img.name, tag, 0]);
      }
    }
  });

  it('from JPEG files: within the stated differences', () => {
    for (const [name, stated] of Object.entries(JPEG_DIFFERENCES)) {
      const ours = readImage((ref.images.find((i) => i.name === name) as { path: string }).path);
      for (const [tag, t] of [
        ['v1', V1],
        ['v2', V2],
      ] as const) {
        const d = inLevels(applyTransforms(ours, t).data as Float32Array, ref.npy(`${name}.${tag}.npy`).data);
        console.log(`${name} ${tag}: max ${d.max} levels, mean ${d.mean.toFixed(3)}`);
        expect(d.max, `${name} ${tag}`).toBeLessThanOrEqual(stated[tag].max);
        expect(d.mean, `${name} ${tag}`).toBeLessThanOrEqual(stated[tag].mean);
      }
    }
  });
});

describe("channels: 1 is torchvision's Grayscale() then the same steps", () => {
  it("greyLevels is PIL's convert('L'), bit for bit, on every image and on random colours", () => {
    for (const name of [...ref.images.map((i) => i.name), 'random']) {
      const ours = greyLevels(pilRgb(name));
      expect([name, difference(ours, ref.npy(`${name}.l.npy`).data).max]).toEqual([name, 0]);
    }
  });

  it('Grayscale → Resize(28) → CenterCrop(32) → ToTensor → Normalize: identical float32 [1, 32, 32, 1]', () => {
    const grey = imageClassification({
      cropSize: 32,
      resizeSize: 28,
      mean: [ref.grey.mean],
      std: [ref.grey.std],
      channels: 1,
    });
    for (const img of ref.images) {
      const ours = applyTransforms(pilRgb(img.name), grey);
      expect(ours.shape).toEqual([1, 32, 32, 1]);
      expect([img.name, difference(ours.data, ref.npy(`${img.name}.grey.npy`).data).max]).toEqual([img.name, 0]);
    }
  });
});
