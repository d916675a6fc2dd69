import { type BackendName, initBackend } from '@resnet/backends';
import { type ParsedArgs, UsageError } from './command.js';

const CLI_BACKENDS = ['wasm', 'cpu', 'node', 'tensorflow'] as const;

/**
 * Starts the backend named by --backend (default: tfjs-node if installed, else WASM, else CPU);
 * `threads` applies if that is WASM.
 */
export async function startBackend(args: ParsedArgs, options: { threads?: number } = {}): Promise<string> {
  const requested = args.values.backend;
  const threads = options.threads === undefined ? {} : { threads: options.threads };
  if (requested === undefined) return (await initBackend(threads)).name;
  if (typeof requested !== 'string' || !(CLI_BACKENDS as readonly string[]).includes(requested)) {
    throw new UsageError(`--backend expects one of ${CLI_BACKENDS.join(', ')}, got ${JSON.stringify(requested)}`);
  }
  const name: BackendName = requested === 'node' ? 'tensorflow' : (requested as BackendName);
  return (await initBackend({ prefer: name, ...threads })).name;
}

export const backendOption = { backend: { type: 'string' } } as const;
export const BACKEND_HELP =
  '  --backend NAME     wasm | cpu | node (tfjs-node, if installed). Default: node if installed, else wasm';
