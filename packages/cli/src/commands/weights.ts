import { existsSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { buildUninitialized, type HostTensor, loadStateDict, ResNetError, saveWeights, torchShape } from '@resnet/core';
import { fileSystem, readStateDictFile, writeSafetensorsFile } from '@resnet/core/node';
import { checkpointContents, isTrainingCheckpoint } from '@resnet/train/node';
import { createModel, getPreset, listWeights, PRESET_NAMES, type WeightsEntry } from '@resnet/zoo';
import { resolveWeightsFile, torchCheckpointsDir, weightsCacheDir } from '@resnet/zoo/node';
import { BACKEND_HELP, backendOption, startBackend } from '../backend.js';
import { type Command, formatTable, stringFlag, UsageError } from '../command.js';

const USAGE =
  'resnet weights list [--json] | resnet weights download <arch> [--weights NAME|URL] | resnet weights convert <in.pth|in.safetensors> <out.safetensors|out-dir/> [--arch NAME]';

export const weightsCommand: Command = {
  name: 'weights',
  summary: 'lists, downloads (verified) and converts pretrained weights (torchvision’s, and ours)',
  usage: USAGE,
  help: `Subcommands:
  list [--json]            torchvision's checkpoints of every preset, with their published accuracy,
                           size and transforms, and whether a copy is already on this machine; and
                           resnet20's FASHION_MNIST, trained by us and shipped inside @resnet/zoo
                           (nothing to download)
  download <arch>          downloads a checkpoint into $RESNET_HOME/checkpoints (default
                           ~/.cache/resnet), verified against the SHA-256 prefix in its file name, and
                           prints its path; a verified copy in torch's cache is used instead
  convert <in> <out>       converts a .pth (torch.save) or .safetensors state_dict: to
                           out.safetensors (torch's names and layouts, as safetensors.torch.save_file
                           writes it), or to a directory (ending with /) in the TensorFlow.js format,
                           model.json + 4 MB shards in our layouts, for hosting next to a web app

Options:
  --weights NAME|URL   download: IMAGENET1K_V1, IMAGENET1K_V2, DEFAULT (default) or a URL whose file
                       name carries its SHA-256 prefix. RESNET_WEIGHTS_MIRROR replaces
                       https://download.pytorch.org/models/ (air-gapped sites)
  --arch NAME          convert to a directory: the preset (default: the one whose parameter names
                       and shapes the file matches)
  --json               list: print a JSON array of the entries (without their category names)
${BACKEND_HELP}

Examples:
  resnet weights list
  resnet weights download resnet50
  resnet weights download resnet50 --weights IMAGENET1K_V1
  resnet weights convert resnet50-11ad3fa6.pth resnet50.safetensors
  resnet weights convert resnet50-11ad3fa6.pth web/models/resnet50/`,
  options: {
    weights: { type: 'string' },
    arch: { type: 'string' },
    json: { type: 'boolean' },
    ...backendOption,
  },
  positionals: [1, 3],
  async run(args, io) {
    const [sub, ...rest] = args.positionals as [string, ...string[]];
    const expect = (n: number, usage: string): void => {
      if (rest.length !== n)
        throw new UsageError(
          `weights ${sub} takes ${n} argument${n === 1 ? '' : 's'}, got ${rest.length}. Usage: ${usage}`,
        );
    };
    const only = (allowed: string[], usage: string): void => {
      for (const flag of ['weights', 'arch', 'json', 'backend']) {
        if (args.values[flag] !== undefined && !allowed.includes(flag))
          throw new UsageError(`--${flag} does not apply to weights ${sub}. Usage: ${usage}`);
      }
    };
    if (sub === 'list') {
      expect(0, 'resnet weights list [--json]');
      only(['json'], 'resnet weights list [--json]');
      return list(args.values.json === true, io.stdout);
    }
    if (sub === 'download') {
      const usage = 'resnet weights download <arch> [--weights NAME|URL]';
      expect(1, usage);
      only(['weights'], usage);
      const arch = rest[0] as string;
      getPreset(arch);
      const file = await resolveWeightsFile(arch, stringFlag(args, 'weights') ?? 'DEFAULT');
      const what = {
        download: 'downloaded',
        cache: 'already in the cache',
        'torch-cache': "in torch's cache",
        local: 'a local file',
      }[file.source];
      io.stderr(
        `${file.entry?.torchvision ?? file.fileName}: ${what}, ${(file.size / 2 ** 20).toFixed(1)} MB, SHA-256 ${file.sha256 ?? 'not checked'}\n`,
      );
      io.stdout(`${file.path}\n`);
      return;
    }
    if (sub === 'convert') {
      const usage = 'resnet weights convert <in.pth|in.safetensors> <out.safetensors|out-dir/> [--arch NAME]';
      expect(2, usage);
      only(['arch', 'backend'], usage);
      return convert(rest[0] as string, rest[1] as string, stringFlag(args, 'arch'), args, io);
    }
    throw new UsageError(
      `unknown subcommand ${JSON.stringify(sub)}; expected list, download or convert. Usage: ${USAGE}`,
    );
  },
};

/** Where a copy of `entry` already is (our cache, then torch's), unverified; null when none. */
function localCopy(entry: WeightsEntry): string | null {
  if (entry.source === 'resnet') return null; // no file: the weights are inside @resnet/zoo
  for (const dir of [weightsCacheDir(), torchCheckpointsDir()]) {
    const path = join(dir, entry.fileName);
    if (existsSync(path)) return path;
  }
  return null;
}

function list(json: boolean, stdout: (text: string) => void): void {
  const entries = listWeights().map(({ categories: _, ...e }) => ({ ...e, local: localCopy(e as WeightsEntry) }));
  if (json) {
    stdout(`${JSON.stringify(entries)}\n`);
    return;
  }
  const rows = entries.map((e) => [
    e.arch,
    e.isDefault ? `${e.name} (DEFAULT)` : e.name,
    e.meta.acc1.toFixed(3),
    e.meta.acc5.toFixed(3),
    e.meta.fileSizeMB.toFixed(1),
    `${e.transforms.resizeSize} → ${e.transforms.cropSize}${e.transforms.channels === 1 ? ', grey' : ''}`,
    e.source === 'torchvision' ? e.meta.dataset : `${e.meta.dataset} (ours, resnet train)`,
    e.source === 'resnet' ? 'inside @resnet/zoo (nothing to download)' : (e.local ?? ''),
  ]);
  stdout(
    formatTable(
      ['preset', 'weights', 'acc@1', 'acc@5', 'MB', 'resize → crop', 'trained on', 'on this machine'],
      rows,
      [2, 3, 4],
    ),
  );
}

/** The presets whose state_dict has exactly these names and (torch) shapes, with the head's classes. */
function matchingPresets(tensors: ReadonlyMap<string, HostTensor>): { arch: string; numClasses: number }[] {
  const head = tensors.get('fc.weight');
  const numClasses = head?.shape.length === 2 ? (head.shape[0] as number) : undefined;
  return PRESET_NAMES.filter((arch) => {
    const slots = createModel(arch, { meta: true, ...(numClasses ? { numClasses } : {}) }).namedSlots();
    return (
      slots.length === tensors.size &&
      slots.every(([name, slot]) => {
        const t = tensors.get(name);
        const shape = torchShape(slot.shape, slot.layout);
        return t !== undefined && t.shape.length === shape.length && shape.every((d, i) => d === t.shape[i]);
      })
    );
  }).map((arch) => ({
    arch,
    numClasses: numClasses ?? (createModel(arch, { meta: true }).config.numClasses as number),
  }));
}

async function convert(
  input: string,
  output: string,
  archFlag: string | undefined,
  args: Parameters<Command['run']>[0],
  io: Parameters<Command['run']>[1],
): Promise<void> {
  const toDirectory =
    output.endsWith('/') || output.endsWith(sep) || (existsSync(output) && statSync(output).isDirectory());
  if (!toDirectory && !output.endsWith('.safetensors')) {
    throw new UsageError(
      `the output must be a .safetensors file or a directory (ending with /) for the TensorFlow.js format; got ${output}`,
    );
  }
  const target = resolve(output);
  if (toDirectory && existsSync(target) && readdirSync(target).length > 0) {
    throw new ResNetError(`${output} is not empty; convert into a new or empty directory`);
  }
  if (archFlag !== undefined) getPreset(archFlag);
  const file = readStateDictFile(input);
  if (file.format === 'safetensors' && isTrainingCheckpoint(file.metadata)) {
    file.tensors = checkpointContents(file, input).weights; // a `resnet train` checkpoint: its model
  }
  const widened = [...file.sourceDtypes].filter(([, d]) => d !== 'float32' && d !== 'int64' && d !== 'int32');
  if (!toDirectory) {
    writeSafetensorsFile(target, file.tensors, { format: 'pt' });
    io.stderr(
      `${input} (${file.format}, ${file.tensors.size} tensors) → ${output}${widened.length ? `; ${widened.length} ${widened[0]?.[1]} tensors written as float32` : ''}\n`,
    );
    return;
  }
  const matches = matchingPresets(file.tensors);
  const chosen = archFlag ?? (matches.length === 1 ? matches[0]?.arch : undefined);
  if (chosen === undefined) {
    throw new ResNetError(
      matches.length === 0
        ? `${input} is not the state_dict of any preset (names or shapes differ); pass --arch to see what does not fit`
        : `${input} fits several presets (${matches.map((m) => m.arch).join(', ')}); choose one with --arch`,
    );
  }
  const head = file.tensors.get('fc.weight');
  const numClasses = head?.shape.length === 2 ? (head.shape[0] as number) : undefined;
  const backend = await startBackend(args);
  const model = buildUninitialized(() => createModel(chosen, numClasses ? { numClasses } : {})); // loaded at once
  const partial = join(dirname(target), `.${basename(target)}.${process.pid}.partial`);
  try {
    loadStateDict(model, file.tensors);
    mkdirSync(partial, { recursive: true });
    await saveWeights(model, fileSystem(partial), {
      arch: chosen,
      numClasses: model.outputChannels,
      source: basename(input),
    });
    if (existsSync(target)) rmdirSync(target); // empty, checked above
    renameSync(partial, target);
  } catch (e) {
    rmSync(partial, { recursive: true, force: true });
    throw e;
  } finally {
    model.dispose();
  }
  const shards = readdirSync(target).filter((f) => f.endsWith('.bin')).length;
  io.stderr(
    `${input} (${file.format}) → ${output}: ${chosen} in the TensorFlow.js format (model.json and ${shards} shards, on ${backend}); load it with loadWeights(createModel('${chosen}'), '<url>/model.json')\n`,
  );
}
