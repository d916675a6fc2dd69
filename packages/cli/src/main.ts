import { ResNetError } from '@resnet/core';
import { type Command, type Io, parseCommandArgs, UsageError } from './command.js';
import { benchCommand } from './commands/bench.js';
import { classifyCommand } from './commands/classify.js';
import { demoCommand } from './commands/demo.js';
import { exportCommand } from './commands/export.js';
import { preprocessCommand } from './commands/preprocess.js';
import { runCommand } from './commands/run.js';
import { summaryCommand } from './commands/summary.js';
import { trainCommand } from './commands/train.js';
import { weightsCommand } from './commands/weights.js';
import { zooCommand } from './commands/zoo.js';

/** Every command of the `resnet` CLI, in help order. */
export const COMMANDS: Command[] = [
  zooCommand,
  summaryCommand,
  classifyCommand,
  preprocessCommand,
  weightsCommand,
  runCommand,
  demoCommand,
  benchCommand,
  trainCommand,
  exportCommand,
];

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `resnet: torchvision's ResNets on TensorFlow.js

Usage: resnet <command> [options]     (resnet <command> --help for its options and examples)

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Examples:
  resnet zoo
  resnet classify cat.jpg --arch resnet50
  resnet weights list
  resnet summary resnet50 --input 1,3,224,224
  resnet demo resnet50
  resnet run resnet18 --weights r18.safetensors --input x.npy --output y.npy --layout nchw
  resnet export resnet50 --weights r50.safetensors --output resnet50.onnx --optimize
`;
}

/**
 * Runs the CLI on `argv` (without node and the script) and returns the exit code:
 * 0 on success, 1 when the command failed, 2 for a usage mistake. Errors are one line on stderr.
 */
export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(topHelp());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr(
      `resnet: unknown command ${JSON.stringify(name)}; expected one of ${COMMANDS.map((c) => c.name).join(', ')}\n`,
    );
    return 2;
  }
  try {
    const args = parseCommandArgs(command, rest);
    if (args.values.help) {
      io.stdout(`Usage: ${command.usage}\n\n${command.help}\n`);
      return 0;
    }
    await command.run(args, io);
    return 0;
  } catch (e) {
    const message = oneLine(e instanceof Error ? e.message : String(e));
    io.stderr(`resnet ${command.name}: ${message}\n`);
    if (e instanceof UsageError) return 2;
    if (!(e instanceof ResNetError) && process.env.RESNET_DEBUG) io.stderr(`${(e as Error).stack}\n`);
    return 1;
  }
}

function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ').trim();
}
