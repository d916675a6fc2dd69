import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../tools/test-support/fixtures.js';
import { runTorch, TORCH_PYTHON } from '../../../tools/test-support/torch.js';
import {
  createModel,
  getWeights,
  hashPrefixOf,
  IMAGENET_CATEGORIES,
  listPresets,
  listWeights,
  PRESET_NAMES,
  PRESETS,
  WEIGHTS,
  WEIGHTS_ARCHS,
  WEIGHTS_SOURCE,
  weightsNames,
  weightsSource,
} from '../src/index.js';

interface TorchvisionEntry {
  arch: string;
  name: string;
  enum: string;
  isDefault: boolean;
  url: string;
  hashPrefix: string;
  resizeSize: number;
  cropSize: number;
  mean: number[];
  std: number[];
  interpolation: string;
  numParams: number;
  acc1: number;
  acc5: number;
  recipe: string;
  minSize: number[];
}

// What Debian's torchvision says, read live from its weights enums (the reference we did not write).
const torchvision = runTorch<{
  version: string;
  entries: TorchvisionEntry[];
  categories: string[];
  fashionMnistClasses: string[];
}>(
  `import torchvision, torch.hub
from torchvision.datasets import FashionMNIST
from torchvision.models import get_model_weights
from torchvision.models._meta import _IMAGENET_CATEGORIES
outputs['version'] = torchvision.__version__
outputs['categories'] = _IMAGENET_CATEGORIES
outputs['fashionMnistClasses'] = FashionMNIST.classes
outputs['entries'] = []
for arch in inputs['archs']:
    enum = get_model_weights(arch)
    for w in enum:
        t = w.transforms()
        m = w.meta['_metrics']['ImageNet-1K']
        outputs['entries'].append(dict(
            arch=arch, name=w.name, enum=type(w).__name__, isDefault=enum.DEFAULT == w, url=w.url,
            hashPrefix=torch.hub.HASH_REGEX.search(w.url.rsplit('/', 1)[1]).group(1),
            resizeSize=t.resize_size[0], cropSize=t.crop_size[0], mean=list(t.mean), std=list(t.std),
            interpolation=t.interpolation.value, numParams=w.meta['num_params'], acc1=m['acc@1'], acc5=m['acc@5'],
            recipe=w.meta['recipe'], minSize=list(w.meta['min_size'])))`,
  { archs: PRESET_NAMES.flatMap((n) => ('torchvision' in PRESETS[n] ? [PRESETS[n].torchvision] : [])) },
);

/** torchvision's entries (the registry also holds ours, `source: 'resnet'`). */
const torchvisionWeights = () => listWeights().filter((e) => e.source === 'torchvision');

describe('the weights registry is torchvision’s', () => {
  it('was generated from the installed torchvision and is current (tools/weights/generate.py --check)', () => {
    const r = spawnSync(TORCH_PYTHON, [join(REPO_ROOT, 'tools/weights/generate.py'), '--check'], { encoding: 'utf8' });
    expect(r.stderr + r.stdout).toMatch(/is current/);
    expect(r.status).toBe(0);
    expect(WEIGHTS_SOURCE.torchvision).toBe(torchvision.version);
  });

  it('has every entry of every preset with a torchvision twin: URL, hash, DEFAULT, metrics, transforms', () => {
    const ours = torchvisionWeights().map((e) => ({
      arch: e.arch,
      name: e.name,
      enum: (e.torchvision as string).split('.')[0],
      isDefault: e.isDefault,
      url: e.url,
      hashPrefix: e.sha256Prefix,
      resizeSize: e.transforms.resizeSize,
      cropSize: e.transforms.cropSize,
      mean: e.transforms.mean,
      std: e.transforms.std,
      interpolation: e.transforms.interpolation,
      numParams: e.meta.numParams,
      acc1: e.meta.acc1,
      acc5: e.meta.acc5,
      recipe: e.meta.recipe,
      minSize: e.meta.minSize,
    }));
    expect(ours).toEqual(torchvision.entries);
    expect(ours).toHaveLength(17);
    // The new-recipe (V2) checkpoints resize to 232, the original ones to 256 (resnext101_64x4d has only a V1, at 232).
    expect(new Set(ours.map((e) => e.resizeSize))).toEqual(new Set([232, 256]));
  });

  it('has torchvision’s 1000 ImageNet categories in its order and spelling', () => {
    expect(IMAGENET_CATEGORIES).toEqual(torchvision.categories);
    expect(IMAGENET_CATEGORIES).toHaveLength(1000);
    expect(getWeights('resnet50').categories).toBe(IMAGENET_CATEGORIES);
    expect(Object.isFrozen(IMAGENET_CATEGORIES)).toBe(true);
  });

  it('reads each file name’s hash prefix as torch.hub’s HASH_REGEX does', () => {
    for (const e of torchvisionWeights()) {
      expect(hashPrefixOf(e.url as string), e.url as string).toBe(e.sha256Prefix);
      expect(hashPrefixOf(e.fileName)).toBe(e.sha256Prefix);
      expect((e.url as string).endsWith(`/${e.fileName}`)).toBe(true);
    }
  });

  it('numParams is the parameter count of our own models', () => {
    for (const e of torchvisionWeights()) {
      expect(createModel(e.arch, { meta: true }).countParameters(), e.torchvision as string).toBe(e.meta.numParams);
    }
  });

  it('the published file sizes fit our state_dict sizes: 4 bytes a value, 2 for the float16 Wide ResNet V1 files', () => {
    // The .pth holds the values plus zip and pickle overhead: within 0.5% above 2 or 4 bytes a value.
    const bytesPerValue = torchvisionWeights().map((e) => {
      const model = createModel(e.arch, { meta: true });
      const values = model.countParameters() + model.countBuffers();
      return [e.torchvision as string, (e.meta.fileSizeMB * 2 ** 20) / values] as const;
    });
    const near = (b: number, width: number) => b >= width && b < width * 1.005;
    const half = bytesPerValue.filter(([, b]) => near(b, 2)).map(([n]) => n);
    expect(half).toEqual(['Wide_ResNet50_2_Weights.IMAGENET1K_V1', 'Wide_ResNet101_2_Weights.IMAGENET1K_V1']);
    expect(bytesPerValue.filter(([, b]) => !near(b, 2) && !near(b, 4))).toEqual([]);
  });
});

describe('getWeights and the listing', () => {
  it('resolves DEFAULT as torchvision aliases it', () => {
    for (const arch of WEIGHTS_ARCHS.filter((a) => a !== 'resnet20')) {
      const def = torchvision.entries.find((e) => e.arch === arch && e.isDefault);
      expect(getWeights(arch).name).toBe(def?.name);
      expect(getWeights(arch, 'DEFAULT')).toBe(getWeights(arch, WEIGHTS[arch].default));
    }
    expect(getWeights('resnet50', 'IMAGENET1K_V1').transforms.resizeSize).toBe(256);
    expect(getWeights('resnet50').transforms).toEqual({
      resizeSize: 232,
      cropSize: 224,
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
      interpolation: 'bilinear',
    });
  });

  it('refuses unknown architectures and names, listing the valid ones', () => {
    expect(() => getWeights('resnet18', 'IMAGENET1K_V2')).toThrow(
      'weights: expected one of IMAGENET1K_V1, DEFAULT for resnet18; got "IMAGENET1K_V2"',
    );
    expect(() => getWeights('resnet56')).toThrow(
      'arch: expected an architecture with pretrained weights (resnet18, resnet34, resnet50, resnet101, resnet152, wide_resnet50_2, wide_resnet101_2, resnext50_32x4d, resnext101_32x8d, resnext101_64x4d, resnet20); got "resnet56"',
    );
    expect(weightsNames('resnext101_64x4d')).toEqual(['IMAGENET1K_V1', 'DEFAULT']);
    expect(weightsNames('plain20')).toEqual([]);
  });

  it('is read-only', () => {
    const e = getWeights('resnet18');
    expect(() => {
      (e.transforms.mean as unknown as number[])[0] = 0;
    }).toThrow(TypeError);
    expect(Object.isFrozen(WEIGHTS.resnet18.entries)).toBe(true);
  });

  it('listPresets (resnet zoo --json) shows which weights each preset has', () => {
    const rows = listPresets();
    expect(rows.find((r) => r.name === 'resnet50')).toMatchObject({
      weights: ['IMAGENET1K_V1', 'IMAGENET1K_V2'],
      defaultWeights: 'IMAGENET1K_V2',
    });
    expect(rows.find((r) => r.name === 'resnet20')).toMatchObject({
      weights: ['FASHION_MNIST'],
      defaultWeights: 'FASHION_MNIST',
    });
    expect(rows.find((r) => r.name === 'resnet56')).toMatchObject({ weights: [], defaultWeights: null });
  });
});

describe('resnet20 FASHION_MNIST: weights we trained, shipped inside the package', () => {
  const e = getWeights('resnet20', 'FASHION_MNIST');

  it('is listed truthfully: ours, no URL, no torchvision name, its provenance', () => {
    expect(listWeights()).toContain(e);
    expect(getWeights('resnet20')).toBe(e); // the only weights of resnet20, so its DEFAULT
    expect(weightsNames('resnet20')).toEqual(['FASHION_MNIST', 'DEFAULT']);
    expect(e).toMatchObject({ source: 'resnet', url: null, torchvision: null, isDefault: true });
    expect(e.meta.dataset).toBe('Fashion-MNIST');
    expect(e.fileName).toBe('resnet20-fashion-mnist-f16.safetensors');
    expect(e.sha256Prefix).toBe(e.provenance?.float16.sha256.slice(0, 8));
    expect(e.provenance?.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(e.provenance?.seed).toBe(0);
    expect(e.provenance?.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4, 5]);
    expect(Object.isFrozen(e.provenance?.history)).toBe(true);
    // torchvision's entries carry none.
    expect(getWeights('resnet50').provenance).toBeNull();
    expect(getWeights('resnet50').source).toBe('torchvision');
  });

  it('has torchvision’s FashionMNIST.classes, in its order and spelling', () => {
    expect(e.categories).toEqual(torchvision.fashionMnistClasses);
  });

  it('takes one grey channel, 28×28 images padded to 32×32 (Resize(28), CenterCrop(32))', () => {
    expect(e.transforms).toMatchObject({ resizeSize: 28, cropSize: 32, channels: 1, interpolation: 'bilinear' });
    // Fashion-MNIST's published training-set statistics: mean 0.2860, std 0.3530.
    expect(e.transforms.mean).toHaveLength(1);
    expect(e.transforms.mean[0]).toBeCloseTo(0.286, 3);
    expect(e.transforms.std[0]).toBeCloseTo(0.353, 3);
  });

  it('numParams is our resnet20 with one input channel', () => {
    expect(e.meta.numParams).toBe(createModel('resnet20', { meta: true, inputChannels: 1 }).countParameters());
  });

  it('has nothing to download: weightsSource refuses it, naming the argument and the fix', () => {
    expect(() => weightsSource('resnet20', 'FASHION_MNIST')).toThrow(
      /weights: expected weights with a download URL \(resnet20 FASHION_MNIST ships inside @resnet\/zoo\); got "FASHION_MNIST". Nothing to download: pretrained\('resnet20', \{ weights: 'FASHION_MNIST' \}\)/,
    );
  });
});

describe('weightsSource: what to download for a weights argument', () => {
  it('maps names to official URLs, or to the mirror’s', () => {
    expect(weightsSource('resnet50')).toMatchObject({
      url: 'https://download.pytorch.org/models/resnet50-11ad3fa6.pth',
      fileName: 'resnet50-11ad3fa6.pth',
      sha256Prefix: '11ad3fa6',
    });
    expect(weightsSource('resnet50', 'IMAGENET1K_V1', { mirror: 'http://mirror.lan:8080/torch' }).url).toBe(
      'http://mirror.lan:8080/torch/resnet50-0676ba61.pth',
    );
    expect(
      weightsSource('resnet50', 'https://download.pytorch.org/models/resnet50-0676ba61.pth', {
        mirror: 'http://mirror.lan/m/',
      }).url,
    ).toBe('http://mirror.lan/m/resnet50-0676ba61.pth');
    expect(weightsSource('resnet18', 'https://example.org/w/mine-0123abcd.pth?x=1')).toMatchObject({
      fileName: 'mine-0123abcd.pth',
      sha256Prefix: '0123abcd',
      entry: null,
    });
  });

  it('file names carry a hash as torch.hub reads them, 8 hex digits at least', () => {
    const names = ['resnet50-11ad3fa6.pth', 'my-net-0123abcdef.pt', 'a-deadbeef.tar.gz', 'x-0123abcd.pth', 'net.pth'];
    const torch = runTorch<{ prefixes: (string | null)[] }>(
      `import torch.hub
outputs['prefixes'] = [(lambda m: m.group(1) if m else None)(torch.hub.HASH_REGEX.search(n)) for n in inputs['names']]`,
      { names },
    );
    expect(names.map(hashPrefixOf)).toEqual(torch.prefixes);
    // Where we are stricter than torch.hub, which would accept any (even empty) run of hex digits:
    expect(['net-ab.pth', 'net-.pth', 'model-ABCDEF12.pth'].map(hashPrefixOf)).toEqual([null, null, null]);
  });

  it('refuses URLs without a hash unless allowed, and other schemes', () => {
    expect(() => weightsSource('resnet18', 'https://example.org/resnet18.pth')).toThrow(
      /allowUnverified: true \} to download it without a check/,
    );
    expect(weightsSource('resnet18', 'https://example.org/resnet18.pth', { allowUnverified: true }).sha256Prefix).toBe(
      null,
    );
    expect(() => weightsSource('resnet18', 'ftp://example.org/resnet18-0123abcd.pth')).toThrow(/an http\(s\) URL/);
    expect(() => weightsSource('resnet18', 'weights/resnet18-0123abcd.pth')).toThrow(
      /Local files are read by the Node entry/,
    );
    expect(() => weightsSource('resnet18', getWeights('resnet50'))).toThrow(/weights of resnet18/);
  });
});
