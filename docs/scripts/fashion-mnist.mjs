// Fashion-MNIST images as the PNG files they are (28×28 grey), from @resnet/train's split of the
// `fashion-mnist` package (the split the shipped model was trained and measured on): for the demo's
// test images (scripts/generate.mjs) and the browser test's training images (test/demo-panels.mjs).
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

/**
 * The first `perClass` images of each class of a split, as { index, label, name, png }: `index`
 * in the split (example j has label j mod 10), `png` the bytes of a 28×28 grey PNG.
 */
export async function fashionMnistPngs(split, perClass) {
  const { loadFashionMnist } = await import('@resnet/train/node');
  const { encodePng } = await import('@resnet/images');
  const packageDir = dirname(createRequire(import.meta.url).resolve('fashion-mnist/package.json'));
  const count = 10 * perClass;
  const data = loadFashionMnist({
    trainLimit: split === 'train' ? count : 10,
    testLimit: split === 'test' ? count : 10,
    packageDir,
  });
  const { images, labels } = data[split];
  return Array.from({ length: count }, (_, j) => {
    // The dataset holds each image zero-padded to 32×32 and normalised: undo both.
    const pixels = new Uint8Array(28 * 28);
    for (let y = 0; y < 28; y++)
      for (let x = 0; x < 28; x++)
        pixels[y * 28 + x] = Math.round((images[j * 1024 + (y + 2) * 32 + x + 2] * data.std + data.mean) * 255);
    const label = labels[j];
    return {
      index: j,
      label,
      name: data.classes[label],
      png: encodePng({ width: 28, height: 28, data: pixels, channels: 1 }),
    };
  });
}
