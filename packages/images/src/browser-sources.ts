import { ArgumentError } from '@resnet/core';
import type { PixelArray } from './pixels.js';

/**
 * Browser image sources, read with the platform's decoder. Everything is feature-detected: in Node
 * none of these globals exist and nothing here is reached.
 */
export type BrowserImageSource =
  | HTMLImageElement
  | ImageBitmap
  | ImageData
  | HTMLCanvasElement
  | OffscreenCanvas
  | HTMLVideoElement;

const has = (name: string): boolean => typeof (globalThis as Record<string, unknown>)[name] === 'function';
const isA = (value: unknown, name: string): boolean =>
  has(name) && value instanceof ((globalThis as Record<string, unknown>)[name] as abstract new () => unknown);

/** Whether `value` is one of the browser sources (false everywhere in Node). */
export function isBrowserImageSource(value: unknown): value is BrowserImageSource {
  return [
    'HTMLImageElement',
    'ImageBitmap',
    'ImageData',
    'HTMLCanvasElement',
    'OffscreenCanvas',
    'HTMLVideoElement',
  ].some((name) => isA(value, name));
}

/**
 * The source's pixels as RGBA without premultiplication or colour conversion, so that an image
 * element gives the file's own values (as PIL reads them) rather than the colour-managed,
 * premultiplied values a canvas holds:
 * - an image element is re-decoded by `createImageBitmap(img, { colorSpaceConversion: 'none',
 *   premultiplyAlpha: 'none' })`; EXIF orientation is applied by browsers (PIL ignores it);
 * - pixels that are not opaque are read back through WebGL (unpremultiplied upload), because a 2D
 *   canvas stores colours premultiplied and loses them under low alpha; without WebGL the 2D
 *   canvas's values are used;
 * - canvases and videos are read as they are shown (a video's current frame).
 */
export async function pixelsFromBrowserSource(source: BrowserImageSource, argument = 'image'): Promise<PixelArray> {
  if (isA(source, 'ImageData')) {
    const d = source as ImageData;
    return { width: d.width, height: d.height, data: d.data, channels: 4 };
  }
  let drawable: CanvasImageSource | OffscreenCanvas = source as CanvasImageSource;
  let width: number;
  let height: number;
  let bitmap: ImageBitmap | undefined;
  if (isA(source, 'HTMLImageElement')) {
    const img = source as HTMLImageElement;
    if (!img.complete || img.naturalWidth === 0) {
      try {
        await img.decode();
      } catch {
        throw new ArgumentError(
          argument,
          'a loaded image element',
          `an image that failed to load (${img.currentSrc || img.src || 'no src'})`,
          'Check its URL and that the server allows reading it (CORS)',
        );
      }
    }
    bitmap = await createImageBitmap(img, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
    drawable = bitmap;
    width = bitmap.width;
    height = bitmap.height;
  } else if (isA(source, 'HTMLVideoElement')) {
    const video = source as HTMLVideoElement;
    if (video.readyState < 2 || video.videoWidth === 0)
      throw new ArgumentError(
        argument,
        'a video with a current frame (readyState ≥ HAVE_CURRENT_DATA)',
        `a video in readyState ${video.readyState}`,
        "Wait for its 'loadeddata' event",
      );
    width = video.videoWidth;
    height = video.videoHeight;
  } else {
    const s = source as ImageBitmap | HTMLCanvasElement | OffscreenCanvas;
    width = s.width;
    height = s.height;
  }
  if (!(width > 0 && height > 0))
    throw new ArgumentError(
      argument,
      'an image source with a size',
      `${width}×${height}`,
      'Draw or load something first',
    );
  try {
    const rgba = read2d(drawable, width, height);
    let opaque = true;
    for (let i = 3; i < rgba.length; i += 4) {
      if (rgba[i] !== 255) {
        opaque = false;
        break;
      }
    }
    const exact = opaque ? undefined : readWebGl(drawable as TexImageSource, width, height);
    return { width, height, data: exact ?? rgba, channels: 4 };
  } finally {
    bitmap?.close();
  }
}

function newCanvas(width: number, height: number): HTMLCanvasElement | OffscreenCanvas {
  if (has('OffscreenCanvas')) return new OffscreenCanvas(width, height);
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  return canvas;
}

function read2d(source: CanvasImageSource | OffscreenCanvas, width: number, height: number): Uint8ClampedArray {
  const canvas = newCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true }) as
    | CanvasRenderingContext2D
    | OffscreenCanvasRenderingContext2D
    | null;
  if (!ctx) throw new Error('this browser gives no 2D canvas context; cannot read the image');
  ctx.drawImage(source as CanvasImageSource, 0, 0);
  return ctx.getImageData(0, 0, width, height).data;
}

/** RGBA read back from a texture uploaded without premultiplication; undefined without WebGL. */
function readWebGl(source: TexImageSource, width: number, height: number): Uint8Array | undefined {
  const canvas = newCanvas(1, 1);
  const gl = (canvas.getContext('webgl2') ?? canvas.getContext('webgl')) as WebGLRenderingContext | null;
  if (!gl) return undefined;
  try {
    if (width > gl.getParameter(gl.MAX_TEXTURE_SIZE) || height > gl.getParameter(gl.MAX_TEXTURE_SIZE)) return undefined;
    const texture = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
    gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.NONE);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, source);
    const framebuffer = gl.createFramebuffer();
    gl.bindFramebuffer(gl.FRAMEBUFFER, framebuffer);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, texture, 0);
    if (gl.checkFramebufferStatus(gl.FRAMEBUFFER) !== gl.FRAMEBUFFER_COMPLETE) return undefined;
    const out = new Uint8Array(width * height * 4);
    gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, out);
    gl.deleteFramebuffer(framebuffer);
    gl.deleteTexture(texture);
    return gl.getError() === gl.NO_ERROR ? out : undefined;
  } finally {
    gl.getExtension('WEBGL_lose_context')?.loseContext();
  }
}
