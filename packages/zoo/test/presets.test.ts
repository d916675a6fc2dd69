import { fixtureManifest, readReference } from '../../../tools/test-support/fixtures.js';
import { initBackend } from '@resnet/backends';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel, getPreset, listPresets, PRESET_NAMES, PRESETS, type PresetName } from '../src/index.js';

type Reference = {
  models: Record<
    string,
    { total_params: number; total_buffer_elements_incl_num_batches_tracked: number; state_dict_entries: number }
  >;
};
const torchvision = readReference<Reference>('torchvision_params.json').models;

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

const twins = PRESET_NAMES.filter((n) => 'torchvision' in PRESETS[n]);

describe('parameter counts', () => {
  it.each(twins)('%s has torchvision’s parameter and buffer counts', (name) => {
    const ref = torchvision[name];
    const model = createModel(name, { meta: true });
    expect(model.countParameters()).toBe(ref?.total_params);
    expect(model.countBuffers()).toBe(ref?.total_buffer_elements_incl_num_batches_tracked);
    expect(model.namedSlots()).toHaveLength(ref?.state_dict_entries as number);
  });

  it.each(twins)('%s has the state_dict keys of the installed torchvision, in order', (name) => {
    const live = fixtureManifest() as unknown as {
      models: Record<string, { params: number; state_dict_keys: string[] }>;
    };
    const model = createModel(name, { meta: true });
    expect(model.namedSlots().map(([n]) => n)).toEqual(live.models[name]?.state_dict_keys);
    expect(model.countParameters()).toBe(live.models[name]?.params);
  });

  // The paper's CIFAR-10 nets (He et al. 2015, table 6: 0.27M, 0.46M, 0.66M, 0.85M, 1.7M) with
  // option-A shortcuts; exact counts as the issue states them.
  it.each([
    ['resnet20', 269_722],
    ['resnet32', 464_154],
    ['resnet44', 658_586],
    ['resnet56', 853_018],
    ['resnet110', 1_727_962],
    ['plain20', 269_722],
    ['plain56', 853_018],
  ] as const)('%s has %i parameters', (name, count) => {
    expect(createModel(name, { meta: true }).countParameters()).toBe(count);
  });

  it('resnet50_keras has 25,583,592 trainable parameters and 53,120 running-stat values', () => {
    const model = createModel('resnet50_keras', { meta: true });
    expect(model.countParameters({ trainable: true })).toBe(25_583_592);
    expect(model.countBuffers() - countBn(model)).toBe(53_120);
  });

  it('listPresets reports every preset with its count', () => {
    const list = listPresets();
    expect(list.map((e) => e.name)).toEqual(PRESET_NAMES);
    expect(list.find((e) => e.name === 'resnet152')?.params).toBe(60_192_808);
  });

  it('gives each preset the image size it was designed for: 224 for ImageNet, 32 for the paper’s CIFAR-10 nets', () => {
    for (const e of listPresets()) {
      const cifar = e.family === 'cifar' || e.family === 'plain';
      expect([e.name, e.imageSize]).toEqual([e.name, cifar ? 32 : 224]);
      expect(e.imageSize).toBe(PRESETS[e.name].imageSize);
      expect(createModel(e.name, { meta: true }).inferShape([1, e.imageSize, e.imageSize, 3])).toEqual([
        1,
        e.numClasses,
      ]);
    }
  });
});

/** One num_batches_tracked counter per BatchNorm. */
function countBn(model: ReturnType<typeof createModel>): number {
  return model.namedModules().filter(([, m]) => m.typeName === 'BatchNorm2d').length;
}

describe('preset options', () => {
  it('changes the classes, the input channels and the head', () => {
    const model = createModel('resnet18', { numClasses: 10, inputChannels: 1, meta: true });
    expect(model.inferShape([2, 28, 28, 1])).toEqual([2, 10]);
    expect(createModel('resnet50', { numClasses: 0, meta: true }).inferShape([1, 224, 224, 3])).toEqual([1, 2048]);
    expect(createModel('resnet50_keras', { meta: true }).config.output).toBe('softmax');
    expect(createModel('resnet20', { meta: true }).inferShape([1, 32, 32, 3])).toEqual([1, 10]);
  });

  it('every preset accepts odd input sizes that survive its downsampling', () => {
    for (const name of PRESET_NAMES) {
      const model = createModel(name, { meta: true });
      expect(model.inferShape([1, 97, 131, 3]), name).toHaveLength(2);
      expect(model.minInputSize()).toBeGreaterThanOrEqual(1);
    }
  });

  it('rejects unknown presets and options with the list of valid ones', () => {
    expect(() => createModel('resnet51')).toThrow(/arch: expected one of resnet18, resnet34/);
    expect(() => getPreset('')).toThrow(/arch/);
    expect(() => createModel('resnet18', { numClass: 3 } as never)).toThrow(/options\.numClass/);
    expect(() => createModel('resnet18', { numClasses: -1 })).toThrow(
      /config\.numClasses: expected an integer >= 0; got -1/,
    );
  });

  it('builds real models reproducibly from a seed', () => {
    const a = createModel('resnet20', { seed: 3 });
    const b = createModel('resnet20', { seed: 3 });
    const first = (m: typeof a) => Array.from(m.namedParameters()[0]?.[1].dataSync() ?? []);
    expect(first(a)).toEqual(first(b));
    a.dispose();
    b.dispose();
    expect(tf.memory().numTensors).toBe(0);
  });
});

export type { PresetName };
