/**
 * @resnet/images: images in, torchvision's input tensors out. Decoding (PNG and JPEG in pure JS,
 * browser elements with the platform's decoder) and torchvision's `ImageClassification` eval
 * transform on PIL images — resize with PIL's antialiased bilinear filter, centre crop, ÷255,
 * normalise — bit for bit. Browser-safe: no `node:` imports; file paths are in `@resnet/images/node`.
 */
import { type ImageInput, preprocessors, toRGB } from './input.js';

export { type RgbImage, rgbImage, checkRgbImage } from './rgb-image.js';
export { type PixelArray, rgbFromPixels, rgbFromTensor } from './pixels.js';
export { type BrowserImageSource, isBrowserImageSource } from './browser-sources.js';
export { decodeImage, sniffFormat, MAX_IMAGE_PIXELS } from './decode.js';
export { encodePng } from './encode.js';
export { resize, resizeTo, resizedSize } from './resize.js';
export { crop, centerCrop, centerCropBox } from './crop.js';
export { greyLevels, greyscale } from './grey.js';
export {
  type ImageTransforms,
  IMAGENET_MEAN,
  IMAGENET_STD,
  imageClassification,
  checkImageTransforms,
  normalize,
  normalizationTable,
  transformChannels,
  applyTransforms,
  stackBatches,
  type TrainImageTransforms,
  imageClassificationTrain,
  checkTrainImageTransforms,
  applyTrainTransforms,
  evalResizeSize,
} from './transforms.js';
export {
  type CropBox,
  type RandomSource,
  randomResizedCropBox,
  randomResizedCropFallback,
  resizedCrop,
  horizontalFlip,
  randomHorizontalFlip,
} from './random-resized-crop.js';
export { type ImageInput, toRGB };

export const { preprocess, preprocessBatch, preprocessToHost } = preprocessors<ImageInput>(toRGB);
