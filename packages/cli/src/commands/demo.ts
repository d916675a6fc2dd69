import { createModel, getPreset } from '@resnet/zoo';
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_HELP, backendOption, startBackend } from '../backend.js';
import { type Command, formatInt, intFlag } from '../command.js';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'build a preset with random weights and time a forward pass (the seeds’ __main__ cell)',
  usage: 'resnet demo [arch] [--size S] [--batch N] [--backend NAME]',
  help: `Builds a preset with seeded random weights, runs it on a random NHWC batch and prints the
input and output shapes, the parameter count and the time of a cold and a warm pass.

Options:
  --size S       input height and width (default 224)
  --batch N      batch size (default 1)
${BACKEND_HELP}

Examples:
  resnet demo                 # resnet50 on 1×224×224×3
  resnet demo resnet18 --batch 8
  resnet demo resnet50_keras --size 64`,
  options: { size: { type: 'string' }, batch: { type: 'string' }, ...backendOption },
  positionals: [0, 1],
  async run(args, io) {
    const arch = args.positionals[0] ?? 'resnet50';
    getPreset(arch);
    const size = intFlag(args, 'size', 224, 1, 4096);
    const batch = intFlag(args, 'batch', 1, 1, 1024);
    const backend = await startBackend(args);
    const model = createModel(arch, { seed: 0 });
    try {
      const x = tf.randomNormal([batch, size, size, model.config.inputChannels], 0, 1, 'float32', 1);
      const times: number[] = [];
      let shape: number[] = [];
      for (let i = 0; i < 2; i++) {
        const t0 = performance.now();
        const y = model.predict(x);
        await y.data();
        times.push(performance.now() - t0);
        shape = y.shape;
        y.dispose();
      }
      x.dispose();
      io.stdout(
        [
          `Model: ${arch} (${backend} backend)`,
          `Input shape: [${x.shape.join(', ')}] (NHWC)`,
          `Output shape: [${shape.join(', ')}]`,
          `Number of parameters: ${formatInt(model.countParameters())}`,
          `Forward pass: ${times[0]?.toFixed(0)} ms cold, ${times[1]?.toFixed(0)} ms warm`,
          '',
        ].join('\n'),
      );
    } finally {
      model.dispose();
    }
  },
};
