import { ArgumentError } from './errors.js';

/** A positive integer (>= 1). */
export function positiveInt(argument: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ArgumentError(argument, 'a positive integer', value);
  }
  return value;
}

/** A non-negative integer (>= 0). */
export function nonNegativeInt(argument: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new ArgumentError(argument, 'an integer >= 0', value);
  }
  return value;
}

/** A finite number within [min, max]. */
export function numberInRange(argument: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new ArgumentError(argument, `a number in [${min}, ${max}]`, value);
  }
  return value;
}

/** A non-empty array of positive integers. */
export function positiveIntList(argument: string, value: unknown, length?: number): number[] {
  if (!Array.isArray(value) || value.length === 0 || (length !== undefined && value.length !== length)) {
    throw new ArgumentError(
      argument,
      length === undefined ? 'a non-empty array of positive integers' : `an array of ${length} positive integers`,
      value,
    );
  }
  value.forEach((v, i) => {
    positiveInt(`${argument}[${i}]`, v);
  });
  return value as number[];
}

/** One of a fixed set of strings. */
export function oneOf<T extends string>(argument: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new ArgumentError(argument, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  }
  return value as T;
}

/** A boolean. */
export function bool(argument: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new ArgumentError(argument, 'true or false', value);
  return value;
}

/** A pair [height, width] from a number or a pair of numbers, as torch's `_pair`. */
export function pair(argument: string, value: unknown, check: (arg: string, v: unknown) => number): [number, number] {
  if (typeof value === 'number') {
    const v = check(argument, value);
    return [v, v];
  }
  if (Array.isArray(value) && value.length === 2) {
    return [check(`${argument}[0]`, value[0]), check(`${argument}[1]`, value[1])];
  }
  throw new ArgumentError(argument, 'a number or a pair [height, width]', value);
}

/** Rejects unknown keys in an options object (catches typos such as `numClass`). */
export function knownKeysOf(argument: string, value: object, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new ArgumentError(
        `${argument}.${key}`,
        `one of the known options (${allowed.join(', ')})`,
        key,
        'Remove or rename the option',
      );
    }
  }
}

/** A plain options object (or undefined, meaning all defaults). */
export function optionsObject(argument: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ArgumentError(argument, 'an options object', value);
  }
  return value as Record<string, unknown>;
}
