import { join } from 'node:path';
import { build } from 'esbuild';

/** A page script of test/browser/ bundled by esbuild for Chromium (ESM, ES2022), as text. */
export async function bundlePage(file: string): Promise<string> {
  const result = await build({
    entryPoints: [join(import.meta.dirname, '..', 'browser', file)],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'error',
  });
  const text = result.outputFiles[0]?.text;
  if (!text) throw new Error(`esbuild produced nothing for test/browser/${file}`);
  return text;
}
