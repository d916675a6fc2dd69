// A benchmark configuration in a process of its own that stays alive between repetitions, so the
// parent can interleave the repetitions of ours and the peers' (round-robin) instead of running
// each configuration's repetitions back to back. Protocol: one JSON object per line. The child
// prints {"ready": ...} once set up, then answers each request line with one reply line.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { processTicks, RowLoad, sample } from './load-guard.mjs';

/** Parent side: a running child and its request/reply channel. */
export class BenchChild {
  /** Spawns `command args` and waits for its ready line (its stderr is kept for error messages). */
  static async start(label, command, args, { timeoutMs = 600_000, ...options } = {}) {
    const proc = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], ...options });
    const child = new BenchChild(label, proc);
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`${label} was not ready after ${timeoutMs / 1000} s:\n${child.stderr.trim()}`));
      }, timeoutMs);
    });
    try {
      child.info = await Promise.race([child.next(), timeout]);
    } finally {
      clearTimeout(timer);
    }
    return child;
  }

  constructor(label, proc) {
    this.label = label;
    this.proc = proc;
    this.pid = proc.pid;
    this.stderr = '';
    this.waiting = [];
    this.lines = [];
    proc.stderr.on('data', (d) => {
      this.stderr = (this.stderr + d).slice(-20000);
    });
    createInterface({ input: proc.stdout }).on('line', (line) => {
      if (!line.startsWith('{')) return; // libraries' chatter on stdout
      const waiter = this.waiting.shift();
      if (waiter) waiter.resolve(line);
      else this.lines.push(line);
    });
    proc.on('exit', (code) => {
      for (const w of this.waiting.splice(0)) {
        w.reject(new Error(`${this.label} exited with code ${code}:\n${this.stderr.trim()}`));
      }
    });
  }

  next() {
    const line = this.lines.shift();
    const parse = (l) => {
      const reply = JSON.parse(l);
      if (reply.error) throw new Error(`${this.label}: ${reply.error}`);
      return reply;
    };
    if (line !== undefined) return Promise.resolve(parse(line));
    if (this.proc.exitCode !== null) {
      return Promise.reject(new Error(`${this.label} exited with code ${this.proc.exitCode}:\n${this.stderr.trim()}`));
    }
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject })).then(parse);
  }

  request(message) {
    this.proc.stdin.write(`${JSON.stringify(message)}\n`);
    return this.next();
  }

  async close() {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((resolve) => this.proc.once('exit', resolve));
    this.proc.stdin.end(`${JSON.stringify({ cmd: 'exit' })}\n`);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10000);
    await exited;
    clearTimeout(timer);
  }
}

/** Child side: answers request lines with `handlers[cmd](message)` (async allowed) until `exit`. */
export function serve(handlers) {
  const send = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
  const rl = createInterface({ input: process.stdin });
  let queue = Promise.resolve();
  rl.on('line', (line) => {
    queue = queue.then(async () => {
      const message = JSON.parse(line);
      if (message.cmd === 'exit') process.exit(0);
      try {
        const handler = handlers[message.cmd];
        if (!handler) throw new Error(`unknown request ${JSON.stringify(message.cmd)}`);
        send(await handler(message));
      } catch (e) {
        send({ error: e instanceof Error ? e.stack : String(e) });
      }
    });
  });
  rl.on('close', () => queue.then(() => process.exit(0)));
}

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Round-robin repetitions: each round asks every child for one timed repetition ({cmd: 'run'},
 * replying {ms}), the first `warmup` rounds untimed. Around each timed repetition the machine's
 * CPU use is sampled: what other processes used, and what our idle children used (they should
 * not: a sibling still spinning would slow the one being timed). `gapMs` separates repetitions.
 * Returns, per child, its times and its load record.
 */
export async function roundRobin(children, { warmup, runs, gapMs = 30, onRound } = {}) {
  const pids = children.map((c) => c.pid);
  const rows = children.map((c) => ({ child: c, times: [], load: new RowLoad(), siblingCoreSeconds: 0, seconds: 0 }));
  const rounds = warmup + Math.max(...rows.map((r) => runsOf(r.child, runs)));
  for (let round = 0; round < rounds; round++) {
    for (const row of rows) {
      if (round >= warmup + runsOf(row.child, runs)) continue;
      const timed = round >= warmup;
      const siblings = pids.filter((p) => p !== row.child.pid);
      const siblingTicks = () => siblings.reduce((s, pid) => s + processTicks(pid), 0);
      const a = sample(pids);
      const sibA = siblingTicks();
      const reply = await row.child.request({ cmd: 'run' });
      const sibB = siblingTicks();
      const b = sample(pids);
      if (timed) {
        row.times.push(reply.ms);
        row.load.add(a, b);
        row.siblingCoreSeconds += Math.max(0, sibB - sibA) / 100;
        row.seconds += (b.at - a.at) / 1000;
      }
      await pause(gapMs);
    }
    onRound?.(round, rounds);
  }
  return rows.map((r) => ({
    label: r.child.label,
    times: r.times,
    load: {
      ...r.load.summary(),
      idleSiblingsCores: Math.round((r.siblingCoreSeconds / Math.max(1e-9, r.seconds)) * 1000) / 1000,
    },
  }));
}

function runsOf(child, runs) {
  return typeof runs === 'function' ? runs(child) : runs;
}
