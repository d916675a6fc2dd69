/**
 * Errors thrown by @resnet packages. Every message says what was expected, what was received and
 * how to fix it, so that a CLI can print `error.message` on one line and stop.
 */
export class ResNetError extends Error {
  override readonly name: string = 'ResNetError';
}

/** Bad argument to a public function: names the argument, the expectation and the value. */
export class ArgumentError extends ResNetError {
  override readonly name = 'ArgumentError';
  constructor(
    readonly argument: string,
    expected: string,
    received: unknown,
    fix?: string,
  ) {
    super(`${argument}: expected ${expected}; got ${describeValue(received)}${fix ? `. ${fix}` : ''}`);
  }
}

/** A file or buffer that is not what it claims to be (truncated, lying header, bad dtype...). */
export class FormatError extends ResNetError {
  override readonly name = 'FormatError';
}

/** Weights that do not fit the model: lists every missing, unexpected and mismatched tensor. */
export class WeightsMismatchError extends ResNetError {
  override readonly name = 'WeightsMismatchError';
  constructor(
    readonly missing: readonly string[],
    readonly unexpected: readonly string[],
    readonly mismatched: readonly { name: string; expected: readonly number[]; received: readonly number[] }[],
  ) {
    const parts: string[] = [];
    if (missing.length > 0) parts.push(`missing ${missing.length} (${listNames(missing)})`);
    if (unexpected.length > 0) parts.push(`unexpected ${unexpected.length} (${listNames(unexpected)})`);
    if (mismatched.length > 0) {
      const shown = mismatched
        .slice(0, 8)
        .map((m) => `${m.name}: model [${m.expected.join(', ')}], file [${m.received.join(', ')}]`);
      parts.push(`shape mismatch ${mismatched.length} (${shown.join('; ')}${mismatched.length > 8 ? '; ...' : ''})`);
    }
    super(
      `weights do not fit the model: ${parts.join('; ')}. Nothing was loaded; check that the architecture and its number of classes match the file`,
    );
  }
}

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, 8).join(', ');
  return names.length > 8 ? `${shown}, ... ${names.length - 8} more` : shown;
}

/** A short, single-line description of any value for error messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) {
    const inner = value.slice(0, 8).map(describeValue).join(', ');
    return `[${inner}${value.length > 8 ? ', ...' : ''}]`;
  }
  if (typeof value === 'object') {
    const shape = (value as { shape?: unknown }).shape;
    if (Array.isArray(shape)) return `a tensor of shape [${shape.join(', ')}]`;
    const name = (value as object).constructor?.name;
    return name && name !== 'Object' ? `a ${name}` : 'an object';
  }
  return typeof value;
}
