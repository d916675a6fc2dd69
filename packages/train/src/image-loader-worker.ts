// One decoding thread of an image folder's loader: loads the batches the main thread asks for.
import { parentPort } from 'node:worker_threads';
import { type ImageBatchJob, loadImageBatch } from './image-batch.js';

const port = parentPort;
if (!port) throw new Error('@resnet/train image-loader-worker runs only as a worker thread of createImageLoader');

port.on('message', (job: ImageBatchJob | { type: 'close' }) => {
  if ('type' in job) {
    port.close();
    return;
  }
  try {
    const result = loadImageBatch(job);
    port.postMessage({ type: 'batch', result }, [result.images.buffer as ArrayBuffer]);
  } catch (e) {
    port.postMessage({ type: 'error', id: job.id, message: e instanceof Error ? e.message : String(e) });
  }
});
