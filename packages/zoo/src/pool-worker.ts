// One worker of an inference pool: its own tfjs backend (WASM), its own copy of the weights.
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '@resnet/backends';
import { type InferenceModel, loadStateDict, optimizeForInference, type ResNet } from '@resnet/core';
import { loadTorchvisionWeights } from '@resnet/core/node';
import * as tf from '@tensorflow/tfjs-core';
import { createModel } from './index.js';
import type { FromWorker, ToWorker, WorkerSetup } from './pool-protocol.js';

const port = parentPort;
if (!port) throw new Error('@resnet/zoo pool-worker runs only as a worker thread of createInferencePool');

const send = (message: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

async function start(setup: WorkerSetup): Promise<{ run: (x: tf.Tensor) => tf.Tensor }> {
  const info = await initBackend({ prefer: setup.backend, onWarning: () => {} });
  const model: ResNet = createModel(
    setup.arch,
    setup.weights.kind === 'seed'
      ? { seed: setup.weights.seed, ...(setup.numClasses ? { numClasses: setup.numClasses } : {}) }
      : setup.numClasses
        ? { numClasses: setup.numClasses }
        : {},
  );
  try {
    if (setup.weights.kind === 'file') loadTorchvisionWeights(model, setup.weights.path);
    else if (setup.weights.kind === 'state') loadStateDict(model, new Map(setup.weights.tensors));
  } catch (e) {
    model.dispose();
    throw e;
  }
  let runner: ResNet | InferenceModel = model;
  if (setup.optimize) runner = optimizeForInference(model, { disposeSource: true });
  send({ type: 'ready', backend: info.name, simd: info.simd });
  return { run: (x) => runner.predict(x) };
}

start(workerData as WorkerSetup).then(
  ({ run }) => {
    port.on('message', (message: ToWorker) => {
      if (message.type === 'close') {
        port.close();
        return;
      }
      try {
        const x = tf.tensor(message.data, message.shape, 'float32');
        const y = run(x);
        x.dispose();
        const data = new Float32Array(y.dataSync());
        const shape = [...y.shape];
        y.dispose();
        send({ type: 'result', id: message.id, shape, data }, [data.buffer as ArrayBuffer]);
      } catch (e) {
        send({ type: 'error', id: message.id, message: e instanceof Error ? e.message : String(e) });
      }
    });
  },
  (e: unknown) => {
    send({ type: 'failed', message: e instanceof Error ? e.message : String(e) });
  },
);
