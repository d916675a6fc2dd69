// A tiny static server for the built site (docs/.vitepress/dist) with VitePress' clean URLs:
// /concepts serves concepts.html, /demo/ serves demo/index.html, anything else is a 404 with
// the site's 404.html, as a static host would do.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

/** The file a URL path maps to, or undefined. */
export function resolvePath(dist, urlPath) {
  let path = decodeURIComponent(urlPath.split('?')[0].split('#')[0]);
  path = normalize(path).replace(/^(\.\.[/\\])+/, '');
  const candidates = path.endsWith('/')
    ? [join(dist, path, 'index.html')]
    : [join(dist, path), join(dist, `${path}.html`), join(dist, path, 'index.html')];
  return candidates.find((c) => c.startsWith(dist) && existsSync(c) && statSync(c).isFile());
}

/**
 * Serves `dist` on a free port of 127.0.0.1; resolves to { url, close, notFound }: `notFound`
 * lists every URL path answered with a 404, whoever asked for it (a page, a worker, the browser).
 * `extra` maps more URL paths to files outside `dist` (the test's checkpoint and photos).
 */
export function serve(dist, extra = {}) {
  const notFound = [];
  const server = createServer((req, res) => {
    const own = extra[(req.url ?? '/').split('?')[0]];
    if (own) {
      const bytes = readFileSync(own);
      res.writeHead(200, {
        'content-type': TYPES[extname(own)] ?? 'application/octet-stream',
        'content-length': bytes.length,
      });
      res.end(bytes);
      return;
    }
    const file = resolvePath(dist, req.url ?? '/');
    if (!file) {
      notFound.push(req.url ?? '/');
      res.writeHead(404, { 'content-type': TYPES['.html'] });
      res.end(existsSync(join(dist, '404.html')) ? readFileSync(join(dist, '404.html')) : 'not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({ url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)), notFound });
    });
  });
}
