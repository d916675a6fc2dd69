import { checkRgbImage, type RgbImage, rgbImage } from './rgb-image.js';

/**
 * PIL's `convert('L')` of an RGB image (torchvision's `Grayscale()` on a PIL image): ITU-R 601-2
 * luma, `L = R·299/1000 + G·587/1000 + B·114/1000`, computed as PIL computes it, in 16-bit fixed
 * point and rounded: `(R·19595 + G·38470 + B·7471 + 0x8000) >> 16`. Grey input (R = G = B) is
 * returned unchanged. Returns `width * height` levels, rows top to bottom.
 */
export function greyLevels(image: RgbImage): Uint8Array {
  checkRgbImage('image', image);
  const { data } = image;
  const out = new Uint8Array(data.length / 3);
  for (let i = 0, j = 0; j < out.length; i += 3, j++) {
    out[j] =
      ((data[i] as number) * 19595 + (data[i + 1] as number) * 38470 + (data[i + 2] as number) * 7471 + 0x8000) >>
      16;
  }
  return out;
}

/**
 * `greyLevels` as an RGB image whose three channels are the grey level (PIL's
 * `convert('L').convert('RGB')`): resizing and cropping it channel by channel is resizing and
 * cropping the grey image, as PIL's mode-L resampling uses the same arithmetic.
 */
export function greyscale(image: RgbImage): RgbImage {
  const levels = greyLevels(image);
  const out = rgbImage(image.width, image.height);
  for (let j = 0; j < levels.length; j++) out.data.fill(levels[j] as number, j * 3, j * 3 + 3);
  return out;
}
