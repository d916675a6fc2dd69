/**
 * Random BatchNorm affine parameters and running statistics for a model, as a state_dict to load
 * with `loadStateDict(model, stats, { strict: false })`. A fresh BatchNorm is the identity (γ 1,
 * β 0, mean 0, variance 1), which would hide a wrong fold or a misplaced normalisation; these are
 * not: γ in [0.5, 1.5), β in [−0.2, 0.2), mean in [−0.3, 0.3), variance in [0.3, 2).
 */
import type { HostValues } from './fixtures.js';

/** Anything with torch-named tensor slots (a @resnet/core Module). */
interface Slotted {
  namedSlots(): [string, { shape: readonly number[] }][];
}

const RANGES: Record<string, [number, number]> = {
  weight: [0.5, 1.5],
  bias: [-0.2, 0.2],
  running_mean: [-0.3, 0.3],
  running_var: [0.3, 2],
};

export function randomNormStatistics(model: Slotted, seed: number): Map<string, HostValues> {
  let s = seed >>> 0;
  // mulberry32: a small seeded generator, the same values on every machine.
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const slots = new Map(model.namedSlots());
  const out = new Map<string, HostValues>();
  for (const [name] of slots) {
    if (!name.endsWith('.running_mean')) continue;
    const prefix = name.slice(0, -'.running_mean'.length);
    for (const [key, [lo, hi]] of Object.entries(RANGES)) {
      const slot = slots.get(`${prefix}.${key}`);
      if (!slot) continue;
      const data = Float32Array.from({ length: slot.shape[0] ?? 0 }, () => lo + (hi - lo) * next());
      out.set(`${prefix}.${key}`, { dtype: 'float32', shape: [...slot.shape], data });
    }
  }
  return out;
}
