import { compareModels, humanCount } from '@resnet/summary';
import { listPresets } from '@resnet/zoo';
import { type Command, formatInt, formatTable } from '../command.js';

export const zooCommand: Command = {
  name: 'zoo',
  summary: 'list every preset with its parameter count and mult-adds at its own image size',
  usage: 'resnet zoo [--json]',
  help: `Lists every preset of @resnet/zoo with its parameter count (default head) and torchinfo's
mult-adds for one RGB image of the preset's own size (computed by shape inference): 224×224 for
the ImageNet networks, 32×32 for the paper's CIFAR-10 networks (resnet20–110, plain20–56), the
sizes their published figures are for.

Options:
  --json    print a JSON array of { name, params, buffers, numClasses, family, torchvision, description,
            imageSize, weights, defaultWeights, multAdds, multAdds224 }: multAdds for one
            3×imageSize×imageSize image, multAdds224 for one 3×224×224 image (every preset);
            weights lists the preset's pretrained weights (torchvision's IMAGENET1K_V1, ...;
            resnet20's FASHION_MNIST, ours; [] for none), defaultWeights the one DEFAULT means
            (or null)

Examples:
  resnet zoo
  resnet zoo --json | jq '.[] | select(.family == "cifar") | {name, imageSize, multAdds}'`,
  options: { json: { type: 'boolean' } },
  positionals: [0, 0],
  async run(args, io) {
    const presets = listPresets();
    const multAddsAt = (size: number, names: string[]): Map<string, number> => {
      const rows = compareModels(names, [1, 3, size, size], { layout: 'nchw' }).rows;
      return new Map(rows.map((r) => [r.name, r.multAdds]));
    };
    const at224 = multAddsAt(
      224,
      presets.map((e) => e.name),
    );
    const native = new Map<number, Map<string, number>>([[224, at224]]);
    for (const size of new Set(presets.map((e) => e.imageSize))) {
      if (!native.has(size))
        native.set(
          size,
          multAddsAt(
            size,
            presets.filter((e) => e.imageSize === size).map((e) => e.name),
          ),
        );
    }
    const entries = presets.map((e) => ({
      ...e,
      multAdds: native.get(e.imageSize)?.get(e.name) as number,
      multAdds224: at224.get(e.name) as number,
    }));
    if (args.values.json) {
      io.stdout(`${JSON.stringify(entries)}\n`);
      return;
    }
    const rows = entries.map((e) => [
      e.name,
      formatInt(e.params),
      `${e.imageSize}×${e.imageSize}`,
      humanCount(e.multAdds),
      e.torchvision ?? '-',
      e.description,
    ]);
    io.stdout(
      formatTable(['preset', 'parameters', 'image', 'mult-adds', 'torchvision twin', 'description'], rows, [1, 2, 3]),
    );
  },
};
