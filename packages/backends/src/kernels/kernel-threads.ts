/**
 * Our own threads for our kernels, on tfjs's threaded WASM build. XNNPACK's thread pool lives
 * inside tfjs's module, which we cannot add functions to; but that build's memory is shared, so
 * workers of ours can instantiate our module on the same memory and each compute a part of a
 * kernel (a range of tiles, pixels or rows) in place. The calling thread computes part 0 and
 * waits for the others; a job is announced through a small shared control block (Atomics), not
 * messages, so starting one costs microseconds.
 *
 * Control block (Int32Array): [0] job generation, [1] parts still running, [2] function index
 * (−1: stop), [3] set when a part failed; from ARGS, MAX_ARGS arguments per part.
 */

const ARGS = 16;
const MAX_ARGS = 32;

/** Runs in each worker (Node worker_threads with `eval`, or a browser Worker from a Blob). */
const WORKER_SOURCE = `
function main(data, post) {
  const instance = new WebAssembly.Instance(data.module, { env: { memory: data.memory } });
  const functions = data.names.map((n) => instance.exports[n]);
  const c = new Int32Array(data.control);
  post('ready');
  let seen = Atomics.load(c, 0);
  for (;;) {
    Atomics.wait(c, 0, seen);
    seen = Atomics.load(c, 0);
    const index = c[2];
    if (index < 0) return;
    const base = ${ARGS} + data.part * ${MAX_ARGS};
    const n = c[base];
    if (n >= 0) {
      try {
        functions[index].apply(null, Array.from(c.subarray(base + 1, base + 1 + n)));
      } catch (e) {
        Atomics.store(c, 3, 1);
      }
    }
    if (Atomics.sub(c, 1, 1) === 1) Atomics.notify(c, 1);
  }
}
if (typeof self === 'undefined') {
  const { parentPort } = require('node:worker_threads');
  parentPort.once('message', (m) => main(m, (x) => parentPort.postMessage(x)));
} else {
  self.onmessage = (e) => main(e.data, (x) => self.postMessage(x));
}
`;

interface WorkerHandle {
  terminate(): unknown;
}

export class KernelThreads {
  private readonly control: Int32Array;
  private canWait = true;

  private constructor(
    private readonly exports: Record<string, unknown>,
    private readonly names: string[],
    private readonly workers: WorkerHandle[],
    control: SharedArrayBuffer,
  ) {
    this.control = new Int32Array(control);
  }

  /** Threads a job can use: this one and the workers. */
  get size(): number {
    return this.workers.length + 1;
  }

  /**
   * Starts `threads − 1` workers on `memory` (shared) with `module`; `exports` are this thread's
   * instance of it. Resolves when every worker is ready.
   */
  static async start(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    exports: Record<string, unknown>,
    threads: number,
  ): Promise<KernelThreads> {
    const names = Object.keys(exports).filter((n) => typeof exports[n] === 'function');
    const control = new SharedArrayBuffer(4 * (ARGS + MAX_ARGS * threads));
    const workers: WorkerHandle[] = [];
    const ready: Promise<void>[] = [];
    const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
    for (let part = 1; part < threads; part++) {
      const message = { module, memory, control, part, names };
      if (isNode) {
        // A computed specifier, so that bundlers for the browser leave it alone.
        const specifier = 'node:worker_threads';
        const { Worker } = (await import(/* @vite-ignore */ specifier)) as typeof import('node:worker_threads');
        const worker = new Worker(WORKER_SOURCE, { eval: true });
        ready.push(
          new Promise((resolve, reject) => {
            worker.once('message', () => {
              // Blocked in Atomics.wait between jobs, it must not keep Node running.
              worker.unref();
              resolve();
            });
            worker.once('error', reject);
          }),
        );
        worker.postMessage(message);
        workers.push(worker);
      } else {
        const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
        const worker = new Worker(url);
        ready.push(
          new Promise((resolve, reject) => {
            worker.onmessage = () => resolve();
            worker.onerror = (e) => reject(new Error(e.message));
          }),
        );
        worker.postMessage(message);
        workers.push(worker);
      }
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      for (const w of workers) w.terminate();
      throw e;
    }
    return new KernelThreads(exports, names, workers, control);
  }

  /**
   * Calls `name` once per element of `parts` (each a list of integer arguments), part 0 on this
   * thread and the others on the workers, and returns when all are done.
   */
  run(name: string, parts: number[][]): void {
    const fn = this.exports[name] as (...args: number[]) => void;
    if (parts.length > this.size) throw new Error(`kernel threads: ${parts.length} parts for ${this.size} threads`);
    if (parts.length <= 1) {
      if (parts[0]) fn(...parts[0]);
      return;
    }
    const c = this.control;
    for (let p = 1; p < parts.length; p++) {
      const args = parts[p] as number[];
      const base = ARGS + p * MAX_ARGS;
      c[base] = args.length;
      c.set(args, base + 1);
    }
    // Every worker wakes for a job; those past parts.length find no part (−1) and only report.
    for (let p = parts.length; p < this.size; p++) c[ARGS + p * MAX_ARGS] = -1;
    c[2] = this.names.indexOf(name);
    c[3] = 0;
    Atomics.store(c, 1, this.size - 1);
    Atomics.add(c, 0, 1);
    Atomics.notify(c, 0);
    let failed: unknown = null;
    try {
      fn(...(parts[0] as number[]));
    } catch (e) {
      failed = e;
    }
    for (;;) {
      const left = Atomics.load(c, 1);
      if (left === 0) break;
      if (this.canWait) {
        try {
          Atomics.wait(c, 1, left);
        } catch {
          this.canWait = false; // a browser's main thread may not block: spin instead
        }
      }
    }
    if (failed) throw failed;
    if (c[3]) throw new Error(`kernel threads: ${name} failed on a worker`);
  }

  /** Stops the workers. */
  stop(): void {
    this.control[2] = -1;
    Atomics.add(this.control, 0, 1);
    Atomics.notify(this.control, 0);
    for (const w of this.workers) w.terminate();
  }
}
