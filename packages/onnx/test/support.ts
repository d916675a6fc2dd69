// What the ONNX tests share: Debian's python3-onnx and torch (tools/test-support/onnx_reference.py)
// and onnxruntime-node, the real readers of the files we write.
import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { HostTensor } from '@resnet/core';
import * as ort from 'onnxruntime-node';
import { REPO_ROOT } from '../../../tools/test-support/fixtures.js';
import { TORCH_PYTHON } from '../../../tools/test-support/torch.js';

export const ONNX_REFERENCE = join(REPO_ROOT, 'tools', 'test-support', 'onnx_reference.py');

/** Runs tools/test-support/onnx_reference.py with Debian's python3; returns its stdout. */
export function reference(...args: string[]): string {
  const r = spawnSync(TORCH_PYTHON, [ONNX_REFERENCE, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) {
    throw new Error(
      `${ONNX_REFERENCE} ${args[0]} failed (needs Debian's python3-onnx and python3-torch; \`npm test\` installs them): ${r.stderr || r.error?.message}`,
    );
  }
  return r.stdout;
}

type Dims = (number | string | null)[];

/** What onnx.checker and ONNX's shape inference say about one file. */
export interface OnnxReport {
  ir_version: number;
  opset: [string, number][];
  producer: [string, string];
  metadata: Record<string, string>;
  inputs: Record<string, Dims>;
  outputs: Record<string, Dims>;
  declared: Record<string, Dims>;
  inferred: Record<string, Dims>;
  nodes: [string, string][];
  initializers: string[];
}

/** onnx.checker.check_model(full_check=True) and strict shape inference on each file. */
export function checkOnnx(paths: string[]): Record<string, OnnxReport> {
  return JSON.parse(reference('check', ...paths)) as Record<string, OnnxReport>;
}

/**
 * `checkOnnx` in a child process that runs while the test goes on (python on one core, the next
 * export on the other). The promise is handled, so a failure surfaces where it is awaited.
 */
export function checkOnnxInBackground(paths: string[]): Promise<Record<string, OnnxReport>> {
  const done = new Promise<Record<string, OnnxReport>>((resolve, reject) => {
    execFile(TORCH_PYTHON, [ONNX_REFERENCE, 'check', ...paths], { maxBuffer: 1 << 30 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${ONNX_REFERENCE} check failed: ${stderr || error.message}`));
      else resolve(JSON.parse(stdout) as Record<string, OnnxReport>);
    });
  });
  done.catch(() => {});
  return done;
}

type Input = { data: Float32Array; shape: readonly number[] };

/** Runs an ONNX file in onnxruntime-node (CPU) on each float32 input (one session); returns every output. */
export async function runOnnxruntime(path: string, ...inputs: Input[]): Promise<Record<string, HostTensor>[]> {
  const session = await ort.InferenceSession.create(path, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
  });
  try {
    const all: Record<string, HostTensor>[] = [];
    for (const input of inputs) {
      const results = await session.run({ input: new ort.Tensor('float32', input.data, [...input.shape]) });
      const out: Record<string, HostTensor> = {};
      for (const [name, t] of Object.entries(results)) {
        out[name] = { dtype: 'float32', shape: t.dims.map(Number), data: t.data as Float32Array };
      }
      all.push(out);
    }
    return all;
  } finally {
    await session.release();
  }
}
