import { ArgumentError } from '@resnet/core';

/**
 * An 8-bit RGB image in host memory: rows top to bottom, the three samples of each pixel side by
 * side (HWC), exactly what PIL holds for an image of mode "RGB". Every transform of this package
 * reads and returns this form; none of them changes its input.
 */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** `width * height * 3` samples, R G B R G B ... */
  readonly data: Uint8Array;
}

/** A new black image (PIL's `Image.new('RGB', size)`), or one around the given samples. */
export function rgbImage(width: number, height: number, data?: Uint8Array): RgbImage {
  return { width, height, data: data ?? new Uint8Array(width * height * 3) };
}

/** Checks that `value` is an RgbImage whose data length matches its size. */
export function checkRgbImage(argument: string, value: unknown): RgbImage {
  const v = value as Partial<RgbImage> | null;
  if (
    typeof v !== 'object' ||
    v === null ||
    !Number.isSafeInteger(v.width) ||
    !Number.isSafeInteger(v.height) ||
    (v.width as number) < 1 ||
    (v.height as number) < 1 ||
    !(v.data instanceof Uint8Array) ||
    v.data.length !== (v.width as number) * (v.height as number) * 3
  ) {
    throw new ArgumentError(
      argument,
      'an RGB image { width, height, data: Uint8Array of width*height*3 samples }',
      value,
      'Get one from toRGB(...) (or decodeImage/readImage in @resnet/images/node)',
    );
  }
  return v as RgbImage;
}

/**
 * A size argument as torchvision takes it: a positive integer or [height, width]. Returns the
 * pair, with a number given for both sides.
 */
export function checkSize(size: unknown, expected: string, fix: string): [number, number] {
  const sizes = typeof size === 'number' ? [size, size] : Array.isArray(size) && size.length === 2 ? size : undefined;
  if (!sizes || sizes.some((s) => !Number.isSafeInteger(s) || s < 1))
    throw new ArgumentError('size', expected, size, fix);
  return sizes as [number, number];
}
