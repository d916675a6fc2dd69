import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A usage mistake (unknown flag, missing value): exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Where a command writes; tests pass their own. */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  isTTY: boolean;
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** One `resnet <command>`: its flags, help text and body. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Help text: flags and examples. */
  help: string;
  options: OptionSpec;
  /** Number of positional arguments accepted: [min, max]. */
  positionals: [number, number];
  run(args: ParsedArgs, io: Io): Promise<void>;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** Parses argv for a command, turning parseArgs' errors into one-line usage errors. */
export function parseCommandArgs(command: Command, argv: string[]): ParsedArgs {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    const message =
      (e as Error).message.split('\n')[0]?.replace(/\. To specify a positional.*$/, '') ?? 'bad arguments';
    throw new UsageError(`${message}. Usage: ${command.usage}`);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (!values.help) {
    const [min, max] = command.positionals;
    const n = parsed.positionals.length;
    if (n < min || n > max) {
      throw new UsageError(
        `${command.name} takes ${min === max ? min : `${min} to ${max}`} argument${max === 1 ? '' : 's'}, got ${n}${n > max ? ` (${parsed.positionals.slice(max).join(' ')})` : ''}. Usage: ${command.usage}`,
      );
    }
  }
  return { values, positionals: parsed.positionals };
}

/** A string flag's value, or an error naming the flag when it is required and absent. */
export function stringFlag(args: ParsedArgs, name: string, required: true, usage?: string): string;
export function stringFlag(args: ParsedArgs, name: string, required?: false, usage?: string): string | undefined;
export function stringFlag(args: ParsedArgs, name: string, required = false, usage?: string): string | undefined {
  const v = args.values[name];
  if (v === undefined) {
    if (required) throw new UsageError(`--${name} is required${usage ? `. Usage: ${usage}` : ''}`);
    return undefined;
  }
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} needs a value`);
  return v;
}

/** An integer flag within [min, max]. */
export function intFlag(
  args: ParsedArgs,
  name: string,
  fallback: number,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const v = stringFlag(args, name);
  if (v === undefined) return fallback;
  if (!/^-?\d+$/.test(v)) throw new UsageError(`--${name} expects an integer, got ${JSON.stringify(v)}`);
  const n = Number.parseInt(v, 10);
  if (n < min || n > max) throw new UsageError(`--${name} expects an integer from ${min} to ${max}, got ${n}`);
  return n;
}

/** One of a fixed set of values. */
export function choiceFlag<T extends string>(args: ParsedArgs, name: string, choices: readonly T[], fallback: T): T;
export function choiceFlag<T extends string>(args: ParsedArgs, name: string, choices: readonly T[]): T | undefined;
export function choiceFlag<T extends string>(
  args: ParsedArgs,
  name: string,
  choices: readonly T[],
  fallback?: T,
): T | undefined {
  const v = stringFlag(args, name);
  if (v === undefined) return fallback;
  if (!(choices as readonly string[]).includes(v)) {
    throw new UsageError(`--${name} expects one of ${choices.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

/** 1234567 → "1,234,567". */
export function formatInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/**
 * A plain-text table: a header, a rule and the rows, columns two spaces apart; the columns in
 * `right` are right-aligned (numbers), the others left-aligned. Ends with a newline.
 */
export function formatTable(header: string[], rows: string[][], right: number[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right.includes(i) ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return `${[line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')}\n`;
}
