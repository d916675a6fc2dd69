/**
 * The page server of the packages' browser tests (packages/zoo, images and onnx): an esbuild
 * bundle of a test page at /bundle.js under an empty HTML page at /, and files that the test maps
 * from URL paths, on 127.0.0.1 at a free port.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
};

/** esbuild's `build`, passed in by the test (esbuild is each package's own dev dependency). */
type Build = (options: {
  entryPoints: string[];
  bundle: true;
  format: 'esm';
  platform: 'browser';
  target: string;
  write: false;
  logLevel: 'error';
}) => Promise<{ outputFiles?: { text: string }[] }>;

export interface PageServer {
  origin: string;
  close(): Promise<void>;
}

/** An esbuild bundle of a test page for Chromium (ESM, ES2022), as text. */
export async function bundleTestPage(build: Build, entry: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'error',
  });
  const text = result.outputFiles?.[0]?.text;
  if (!text) throw new Error(`esbuild produced nothing for ${entry}`);
  return text;
}

/**
 * Bundles `entry` for the browser and serves it. `file(pathname)` names the file to serve for a
 * URL path (undefined: 404). `isolated` sends the cross-origin isolation headers (SharedArrayBuffer
 * for WASM threads).
 */
export async function startPageServer(options: {
  build: Build;
  entry: string;
  file: (pathname: string) => string | undefined;
  isolated?: boolean;
}): Promise<PageServer> {
  const bundle = await bundleTestPage(options.build, options.entry);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (options.isolated) {
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    }
    if (url.pathname === '/') {
      res.setHeader('Content-Type', 'text/html');
      res.end('<!doctype html><script type="module" src="/bundle.js"></script>');
      return;
    }
    if (url.pathname === '/bundle.js') {
      res.setHeader('Content-Type', 'text/javascript');
      res.end(bundle);
      return;
    }
    const file = options.file(decodeURIComponent(url.pathname));
    if (!file || file.includes('..') || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream');
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
