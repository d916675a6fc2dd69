import { compareModels, humanCount } from '@resnet/summary';
import { listPresets } from '@resnet/zoo';
import { type Command, formatInt } from '../command.js';

export const zooCommand: Command = {
  name: 'zoo',
  summary: 'list every preset with its parameter count and mult-adds at 224',
  usage: 'resnet zoo [--json]',
  help: `Lists every preset of @resnet/zoo with its parameter count (default head) and torchinfo's
mult-adds for one 3×224×224 image (computed by shape inference).

Options:
  --json    print a JSON array of { name, params, buffers, numClasses, family, torchvision, description,
            weights, defaultWeights, multAdds224 }: weights lists torchvision's checkpoints of the
            preset (IMAGENET1K_V1, ...; [] for none), defaultWeights the one DEFAULT means (or null)

Examples:
  resnet zoo
  resnet zoo --json | jq '.[] | select(.family == "cifar")'`,
  options: { json: { type: 'boolean' } },
  positionals: [0, 0],
  async run(args, io) {
    const presets = listPresets();
    const multAdds = compareModels(
      presets.map((e) => e.name),
      [1, 3, 224, 224],
      { layout: 'nchw' },
    ).rows.map((r) => r.multAdds);
    const entries = presets.map((e, i) => ({ ...e, multAdds224: multAdds[i] as number }));
    if (args.values.json) {
      io.stdout(`${JSON.stringify(entries)}\n`);
      return;
    }
    const rows = entries.map((e) => [
      e.name,
      formatInt(e.params),
      humanCount(e.multAdds224),
      e.torchvision ?? '-',
      e.description,
    ]);
    const header = ['preset', 'parameters', 'mult-adds@224', 'torchvision twin', 'description'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
    const line = (cells: string[]) =>
      cells
        .map((c, i) => (i === 1 || i === 2 ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
        .join('  ')
        .trimEnd();
    io.stdout(`${[line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')}\n`);
  },
};
