import { describe, expect, it } from 'vitest';
import { parseCommandArgs } from '../src/command.js';
import { COMMANDS, main } from '../src/main.js';

/** The `resnet …` example lines of a help text, continuation lines joined, as argv. */
function examples(help: string): string[][] {
  const section = help.split(/^Examples:\n/m)[1] ?? '';
  const joined = section.replace(/\\\n\s*/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('resnet '))
    .map((l) =>
      l
        .replace(/\s+#.*$/, '') // comment
        .replace(/\s[|>].*$/, '') // pipe or redirect into another program
        .split(/\s+/)
        .slice(1),
    );
}

async function help(...argv: string[]): Promise<string> {
  let out = '';
  const code = await main(argv, { stdout: (t) => (out += t), stderr: (t) => (out += t), isTTY: false });
  expect(code, argv.join(' ')).toBe(0);
  return out;
}

describe('help examples', () => {
  it('every command has --help with at least one example of itself', async () => {
    for (const c of COMMANDS) {
      const ex = examples(await help(c.name, '--help'));
      expect(ex.length, c.name).toBeGreaterThan(0);
      for (const argv of ex) expect(argv[0], `example of ${c.name}: resnet ${argv.join(' ')}`).toBe(c.name);
    }
  });

  it('every example, in the command help and the top help, parses with the command’s own flags', async () => {
    const all = [
      ...examples(await help('--help')),
      ...(await Promise.all(COMMANDS.map(async (c) => examples(await help(c.name, '--help'))))).flat(),
    ];
    expect(all.length).toBeGreaterThanOrEqual(COMMANDS.length);
    for (const [name, ...rest] of all) {
      const command = COMMANDS.find((c) => c.name === name);
      expect(command, `example names an unknown command: resnet ${name}`).toBeDefined();
      if (command) expect(() => parseCommandArgs(command, rest), `resnet ${name} ${rest.join(' ')}`).not.toThrow();
    }
  });
});
