// One replica of the data-parallel trainer: its own tfjs backend and copy of the model; computes
// the gradients of its share of each batch with the parameters the main thread sends.
import { parentPort, workerData } from 'node:worker_threads';
import type { Module } from '@resnet/core';
import * as tf from '@tensorflow/tfjs-core';
import { applyFreezeReport } from './freeze.js';
import { countCorrect } from './metrics.js';
import type { FromReplica, ReplicaSetup, ToReplica } from './parallel-protocol.js';
import { computeGradients } from './trainer.js';

const port = parentPort;
if (!port) throw new Error('@resnet/train parallel-worker runs only as a worker thread of createDataParallel');

const send = (message: FromReplica, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

async function start(setup: ReplicaSetup): Promise<Module> {
  // Optional peers of @resnet/train, needed only here: the replica starts a backend and builds the preset.
  const { initBackend } = await import('@resnet/backends');
  const { createModel } = await import('@resnet/zoo');
  const info = await initBackend({ prefer: setup.backend, onWarning: () => {} });
  const model = createModel(setup.preset, setup.presetOptions) as unknown as Module;
  model.train();
  send({ type: 'ready', backend: info.name });
  return model;
}

function step(model: Module, m: Extract<ToReplica, { type: 'step' }>): void {
  const vars = new Map(model.namedParameters());
  tf.tidy(() => {
    for (const [name, data] of m.params) {
      const v = vars.get(name);
      if (!v) throw new Error(`the main thread sent parameter ${name}, which this replica's model does not have`);
      v.assign(tf.tensor(data, v.shape, 'float32'));
    }
  });
  const { loss, logits, grads } = computeGradients(
    model,
    { images: m.images, labels: m.labels, shape: m.shape },
    { labelSmoothing: m.labelSmoothing },
  );
  try {
    const [top1, top5] = countCorrect(logits, m.labels, [1, 5]) as [number, number];
    const out: [string, Float32Array][] = Object.entries(grads).map(([n, g]) => [n, new Float32Array(g.dataSync())]);
    send(
      { type: 'grads', id: m.id, loss, top1, top5, grads: out },
      out.map(([, d]) => d.buffer as ArrayBuffer),
    );
  } finally {
    logits.dispose();
    tf.dispose(Object.values(grads));
  }
}

/** Takes the main thread's frozen parts: every tensor's value, which parameters are frozen, which BatchNorm layers stay in eval mode. */
function sync(model: Module, m: Extract<ToReplica, { type: 'sync' }>): void {
  const slots = new Map(model.namedSlots());
  tf.tidy(() => {
    for (const [name, data] of m.tensors) {
      const slot = slots.get(name);
      if (!slot) throw new Error(`the main thread sent tensor ${name}, which this replica's model does not have`);
      slot.variable.assign(tf.tensor(data, slot.variable.shape, slot.dtype));
    }
  });
  applyFreezeReport(model, m);
  send({ type: 'synced', id: m.id });
}

start(workerData as ReplicaSetup).then(
  (model) => {
    port.on('message', (m: ToReplica) => {
      if (m.type === 'close') {
        model.dispose();
        port.close();
        return;
      }
      try {
        if (m.type === 'sync') sync(model, m);
        else step(model, m);
      } catch (e) {
        send({ type: 'error', id: m.id, message: e instanceof Error ? e.message : String(e) });
      }
    });
  },
  (e: unknown) => send({ type: 'failed', message: e instanceof Error ? e.message : String(e) }),
);
