import {
  DEFAULT_COLUMNS,
  formatSummary,
  SUMMARY_COLUMNS,
  SUMMARY_FORMATS,
  type SummaryColumn,
  summary,
} from '@resnet/summary';
import { createModel, getPreset } from '@resnet/zoo';
import { choiceFlag, type Command, intFlag, stringFlag, UsageError } from '../command.js';

const USAGE =
  'resnet summary <arch> [--input N,C,H,W] [--layout nchw|nhwc] [--depth D] [--format text|markdown|html|json] [--columns LIST] [--num-classes N]';

export const summaryCommand: Command = {
  name: 'summary',
  summary: "torchinfo's summary of a preset: shapes, parameters, mult-adds, memory, receptive fields",
  usage: USAGE,
  help: `Prints torchinfo's summary of a preset, computed by shape inference (no weights, no kernels,
any input size): one row per module call with torchinfo's labels and numbers, then the totals.
The text format is torchinfo's table; the input size is the raw tensor bytes (torchinfo adds
Python's 56-byte object overhead).

Options:
  --input SHAPE      input shape, 4 positive integers separated by commas, in --layout order
                     (default: one image of the preset's size, 1,3,224,224, or 1,3,32,32 for
                     the CIFAR presets; \`resnet zoo\` lists each preset's size)
  --layout L         nchw (default, torch's order) or nhwc: how --input is given and shapes are shown
  --depth D          deepest level shown, 0 = the model row only (default 3, as torchinfo)
  --format F         text (default), markdown, html (self-contained) or json (schema resnet-summary/1)
  --columns LIST     comma-separated, from ${SUMMARY_COLUMNS.join(', ')};
                     "all" for every column (default ${DEFAULT_COLUMNS.join(',')})
  --num-classes N    classes of the head (default: the preset's)

Examples:
  resnet summary resnet50
  resnet summary resnet18 --input 8,3,160,160 --depth 1
  resnet summary resnet50 --columns input_size,output_size,num_params,mult_adds
  resnet summary resnext50_32x4d --columns kernel_size,groups,receptive_field --format markdown
  resnet summary resnet20 --input 1,32,32,3 --layout nhwc --format json > resnet20.json`,
  options: {
    input: { type: 'string' },
    layout: { type: 'string' },
    depth: { type: 'string' },
    format: { type: 'string' },
    columns: { type: 'string' },
    'num-classes': { type: 'string' },
  },
  positionals: [1, 1],
  async run(args, io) {
    const arch = args.positionals[0] as string;
    const preset = getPreset(arch);
    const layout = choiceFlag(args, 'layout', ['nchw', 'nhwc'] as const, 'nchw');
    const depth = intFlag(args, 'depth', 3, 0, 100);
    const format = choiceFlag(args, 'format', SUMMARY_FORMATS, 'text');
    const columns = parseColumns(stringFlag(args, 'columns'));
    const numClasses =
      args.values['num-classes'] === undefined ? undefined : intFlag(args, 'num-classes', 1, 0, 1_000_000);
    const side = preset.imageSize;
    const fallback = layout === 'nchw' ? [1, 3, side, side] : [1, side, side, 3];
    const input = parseShape(stringFlag(args, 'input'), layout) ?? fallback;
    const model = createModel(arch, { meta: true, ...(numClasses === undefined ? {} : { numClasses }) });
    const s = summary(model, input, { layout, depth, columns });
    io.stdout(`${formatSummary(s, format)}\n`);
  },
};

function parseShape(value: string | undefined, layout: 'nchw' | 'nhwc'): number[] | undefined {
  if (value === undefined) return undefined;
  const form = layout === 'nchw' ? 'N,C,H,W' : 'N,H,W,C';
  const parts = value.split(/[,x×]/).map((p) => p.trim());
  if (parts.length !== 4 || parts.some((p) => !/^\d+$/.test(p) || Number(p) < 1)) {
    throw new UsageError(
      `--input expects 4 positive integers ${form} (--layout ${layout}), e.g. ${layout === 'nchw' ? '1,3,224,224' : '1,224,224,3'}; got ${JSON.stringify(value)}`,
    );
  }
  return parts.map(Number);
}

function parseColumns(value: string | undefined): SummaryColumn[] | undefined {
  if (value === undefined) return undefined;
  if (value === 'all') return [...SUMMARY_COLUMNS];
  const columns = value.split(',').map((c) => c.trim());
  for (const c of columns) {
    if (!(SUMMARY_COLUMNS as readonly string[]).includes(c)) {
      throw new UsageError(
        `--columns: unknown column ${JSON.stringify(c)}; expected a comma-separated list of ${SUMMARY_COLUMNS.join(', ')} (or all)`,
      );
    }
  }
  return columns as SummaryColumn[];
}
