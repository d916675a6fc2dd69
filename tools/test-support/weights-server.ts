/**
 * The download tests' weights server on 127.0.0.1 (random port): a checkpoint made by Debian's
 * torch (tools/weights/make_test_checkpoint.py), served well and badly, with a request count per
 * path. Routes, each ending with the file name the client asks for:
 *   /models/<name>          the checkpoint's bytes under any name (so a name whose hash is not
 *                           the bytes' hash is "a file under a name whose hash does not match")
 *   /drop/<name>            Content-Length of the whole file, half the bytes, then the socket is destroyed
 *   /drop-chunked/<name>    the same without Content-Length
 *   /status/<code>/<name>   that HTTP status
 *   /redirect/<n>/<name>    n redirects (302, relative Location), then /models/<name>
 *   /trickle/<name>         the whole file in 1 MiB pieces, 15 ms apart
 *   /stall/<name>           1 MiB, then nothing (the connection stays open)
 *   /pair/<name>            as /trickle, but each response waits until a second request for it
 *                           arrives, so that two downloads overlap for sure
 * `extra` routes (exact paths) serve other content (the browser test's page).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './fixtures.js';
import { TORCH_PYTHON } from './torch.js';

export interface Checkpoint {
  file: string;
  path: string;
  sha256: string;
  size: number;
  bytes: Buffer;
}

/** torch.save of a seeded torchvision resnet18 state_dict, named resnet18-<sha256[:8]>.pth. */
export function makeCheckpoint(dir = mkdtempSync(join(tmpdir(), 'resnet-weights-src-'))): Checkpoint {
  const script = join(REPO_ROOT, 'tools/weights/make_test_checkpoint.py');
  const r = spawnSync(TORCH_PYTHON, [script, dir, 'resnet18', '0'], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`${script} failed (needs Debian's python3-torch; \`npm test\` installs it): ${r.stderr}`);
  }
  const made = JSON.parse(r.stdout) as Omit<Checkpoint, 'bytes'>;
  const bytes = readFileSync(made.path);
  if (createHash('sha256').update(bytes).digest('hex') !== made.sha256) throw new Error('checkpoint changed on disk');
  return { ...made, bytes };
}

export interface WeightsServer {
  origin: string;
  /** Requests seen, by path. */
  requests: Map<string, number>;
  count(path: string): number;
  total(): number;
  close(): Promise<void>;
}

const MiB = 1 << 20;

export async function startWeightsServer(
  checkpoint: Checkpoint,
  extra: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {},
): Promise<WeightsServer> {
  const requests = new Map<string, number>();
  const sockets = new Set<Socket>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const bytes = checkpoint.bytes;
  const later = (ms: number, f: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      f();
    }, ms);
    timers.add(t);
  };
  const waiting: ServerResponse[] = [];
  const trickle = (res: ServerResponse, stall: boolean): void => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': bytes.length });
    let offset = 0;
    const next = (): void => {
      if (res.destroyed) return;
      const piece = bytes.subarray(offset, offset + MiB);
      offset += piece.length;
      if (offset >= bytes.length) res.end(piece);
      else res.write(piece, () => (stall ? undefined : later(15, next)));
    };
    next();
  };
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    requests.set(path, (requests.get(path) ?? 0) + 1);
    const own = extra[path];
    if (own) return own(req, res);
    const parts = path.split('/').filter(Boolean);
    const route = parts[0];
    const binary = { 'Content-Type': 'application/octet-stream' };
    if (route === 'models' && parts.length === 2) {
      res.writeHead(200, { ...binary, 'Content-Length': bytes.length });
      res.end(bytes);
    } else if (route === 'drop' || route === 'drop-chunked') {
      res.writeHead(200, route === 'drop' ? { ...binary, 'Content-Length': bytes.length } : binary);
      res.write(bytes.subarray(0, bytes.length >> 1), () => later(20, () => res.socket?.destroy()));
    } else if (route === 'status' && parts.length === 3) {
      res.writeHead(Number(parts[1]), { 'Content-Type': 'text/plain' });
      res.end(`status ${parts[1]}`);
    } else if (route === 'redirect' && parts.length === 3) {
      const n = Number(parts[1]);
      res.writeHead(302, { Location: n > 1 ? `../${n - 1}/${parts[2]}` : `/models/${parts[2]}` });
      res.end();
    } else if (route === 'trickle' || route === 'stall') {
      trickle(res, route === 'stall');
    } else if (route === 'pair') {
      waiting.push(res);
      if (waiting.length === 2) for (const r of waiting.splice(0)) trickle(r, false);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    requests,
    count: (path) => requests.get(path) ?? 0,
    total: () => [...requests.values()].reduce((a, b) => a + b, 0),
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

/** A port on 127.0.0.1 that nothing listens on (for the offline case). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((done) => s.listen(0, '127.0.0.1', done));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((done) => s.close(() => done()));
  return port;
}
