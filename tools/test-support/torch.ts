/**
 * Runs a Python snippet with Debian's torch (/usr/bin/python3) as a test oracle. The snippet
 * reads `inputs` (a dict decoded from JSON) and assigns a JSON-serialisable dict to `outputs`.
 * Float arrays travel as lists; use `np.array(inputs['x'], dtype=np.float32)` on the Python side.
 */
import { spawnSync } from 'node:child_process';

export const TORCH_PYTHON = '/usr/bin/python3';

const PRELUDE = `
import sys, json
import numpy as np
import torch
torch.set_num_threads(1)
inputs = json.loads(sys.stdin.read())
outputs = {}
def tolist(a):
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64).reshape(-1).tolist()
`;

/** Runs `script` after a prelude (json, numpy as np, torch, `inputs`, `tolist`), returns `outputs`. */
export function runTorch<T = Record<string, unknown>>(script: string, inputs: Record<string, unknown> = {}): T {
  const source = `${PRELUDE}\n${script}\nsys.stdout.write(json.dumps(outputs))\n`;
  const r = spawnSync(TORCH_PYTHON, ['-c', source], {
    input: JSON.stringify(inputs, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v)),
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0) {
    throw new Error(
      `torch reference failed (${TORCH_PYTHON}, needs Debian's python3-torch; \`npm test\` installs it): ${r.stderr || r.error?.message}`,
    );
  }
  return JSON.parse(r.stdout) as T;
}
