import { ArgumentError } from './errors.js';

/**
 * The generator that parameter initialisation draws from, like torch's global generator:
 * `manualSeed(s)` before building makes every initial weight reproducible.
 */
let state = (Math.random() * 2 ** 32) >>> 0;

/** Seeds parameter initialisation (torch's `torch.manual_seed`). */
export function manualSeed(seed: number): void {
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1) {
    throw new ArgumentError('seed', 'an integer in [0, 4294967295]', seed);
  }
  state = seed >>> 0;
}

/** The next 32-bit seed from the global generator (mulberry32 step). */
export function nextSeed(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}

/** Runs `fn` with the global generator seeded by `seed` when it is given; restores nothing. */
export function withSeed<T>(seed: number | undefined, fn: () => T): T {
  if (seed !== undefined) manualSeed(seed);
  return fn();
}
