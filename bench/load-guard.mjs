// The machine's load while a benchmark runs, and the rule that refuses a record taken under load.
//
// Wall-clock timings on a shared machine say more about the other jobs than about the code. Each
// benchmark samples, around every timed repetition, the CPU time the whole machine spent busy
// (/proc/stat) and the CPU time of the benchmark's own processes (/proc/<pid>/stat): the
// difference is what other processes used meanwhile, in cores. A row is "under load" when other
// processes used more than OTHERS_MAX_CORES on average during its repetitions, or the hypervisor
// stole more than STEAL_MAX_CORES; a run is under load when any row is, or when other processes
// were busy during the START_SAMPLE_SECONDS before it started (the 1-minute load average lags by
// minutes, so it is recorded but does not decide). A run under load is printed but not recorded;
// `--force` records it marked "under load" with the reasons.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableParallelism, loadavg } from 'node:os';

/** Most cores other processes may use, on average over a row's repetitions, for the row to count as idle. */
export const OTHERS_MAX_CORES = 0.1;
/** Most cores the hypervisor may steal (time the VM wanted to run but another guest ran). */
export const STEAL_MAX_CORES = 0.05;
/** Seconds of CPU sampling before a benchmark starts (its own processes not yet running). */
export const START_SAMPLE_SECONDS = 5;

export const LOAD_RULE =
  `a record is refused when other processes used more than ${OTHERS_MAX_CORES} cores on average (the CPU time ` +
  `of every process but the benchmark's own, from /proc/PID/stat) in the ${START_SAMPLE_SECONDS} s before the run or during ` +
  `any row's timed repetitions, or when the hypervisor stole more than ${STEAL_MAX_CORES} cores`;

const TICKS = 100; // USER_HZ: /proc reports CPU time in 1/100 s on Linux.

/** Busy and steal ticks of the whole machine (all CPUs), from /proc/stat. */
function machineTicks() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return {
    busy: user + nice + system + irq + softirq,
    steal: steal ?? 0,
    total: user + nice + system + idle + iowait + irq + softirq + (steal ?? 0),
  };
}

/** User + system ticks of a process (all its threads), plus those of its waited-for children. */
export function processTicks(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // utime, stime, cutime, cstime are fields 14–17 (1-based), i.e. 11–14 after the name.
    return Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  } catch {
    return 0; // the process has exited: its time is in its parent's cutime/cstime
  }
}

/**
 * User + system ticks of every process on the machine but `own` (kernel threads included), each
 * with its waited-for children, so that a process that exits meanwhile moves its time to its
 * parent rather than out of the sum.
 */
function othersTicks(own) {
  let ticks = 0;
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) > 57 || own.has(Number(name))) continue; // pids only: names starting with a digit
    ticks += processTicks(name);
  }
  return ticks;
}

/**
 * A snapshot of CPU use: the machine's (/proc/stat), that of our own processes (this one and
 * `pids`), and that of every other process. Other processes' use is their own accounted time, not
 * the machine's busy time minus ours: /proc/stat samples busy time at the timer tick, which over-
 * counts short bursts (a tick restarts when a core leaves idle), so a benchmark whose repetitions
 * last a few milliseconds would otherwise see its own wake-ups as another process's load.
 */
export function sample(pids = []) {
  const m = machineTicks();
  const mine = [process.pid, ...pids];
  const own = mine.reduce((s, pid) => s + processTicks(pid), 0);
  const others = othersTicks(new Set(mine));
  return { at: performance.now(), ...m, own, others, load: loadavg()[0] };
}

/**
 * What other processes used between two samples, in cores. `ownBefore`/`ownAfter` must cover the
 * same set of processes (a process started in between counts from zero).
 */
export function othersBetween(a, b) {
  const seconds = Math.max(1e-3, (b.at - a.at) / 1000);
  return {
    seconds,
    othersCores: Math.max(0, b.others - a.others) / TICKS / seconds,
    stealCores: (b.steal - a.steal) / TICKS / seconds,
  };
}

/** Accumulates the windows of one row's repetitions. */
export class RowLoad {
  constructor() {
    this.seconds = 0;
    this.othersCoreSeconds = 0;
    this.stealCoreSeconds = 0;
    this.maxOthersCores = 0;
    this.loadBefore = null;
    this.loadAfter = null;
  }
  add(a, b) {
    const w = othersBetween(a, b);
    this.seconds += w.seconds;
    this.othersCoreSeconds += w.othersCores * w.seconds;
    this.stealCoreSeconds += w.stealCores * w.seconds;
    this.maxOthersCores = Math.max(this.maxOthersCores, w.othersCores);
    this.loadBefore ??= a.load;
    this.loadAfter = b.load;
  }
  /** The record of a row: load averages around it and what others used during its repetitions. */
  summary() {
    const s = Math.max(1e-9, this.seconds);
    const round = (v) => Math.round(v * 1000) / 1000;
    return {
      loadAverageBefore: round(this.loadBefore ?? loadavg()[0]),
      loadAverageAfter: round(this.loadAfter ?? loadavg()[0]),
      othersCores: round(this.othersCoreSeconds / s),
      othersCoresMax: round(this.maxOthersCores),
      stealCores: round(this.stealCoreSeconds / s),
    };
  }
}

/** Why a row counts as under load (empty when idle). */
export function rowReasons(label, load) {
  const reasons = [];
  if (load.othersCores > OTHERS_MAX_CORES) {
    reasons.push(
      `${label}: other processes used ${load.othersCores.toFixed(2)} cores on average (limit ${OTHERS_MAX_CORES})`,
    );
  }
  if (load.stealCores > STEAL_MAX_CORES) {
    reasons.push(`${label}: the hypervisor stole ${load.stealCores.toFixed(2)} cores (limit ${STEAL_MAX_CORES})`);
  }
  return reasons;
}

/** The 1-minute load average, rounded (recorded, not decisive). */
export function loadAverageNow() {
  return Math.round(loadavg()[0] * 100) / 100;
}

/**
 * What other processes use just before a run: CPU sampled for START_SAMPLE_SECONDS. Returns the
 * load average, the cores others used, and why that is too much (or null).
 */
export async function startCheck() {
  const a = sample();
  await new Promise((r) => setTimeout(r, START_SAMPLE_SECONDS * 1000));
  const b = sample();
  const { othersCores, stealCores } = othersBetween(a, b);
  const reasons = rowReasons(`in the ${START_SAMPLE_SECONDS} s before the run`, { othersCores, stealCores });
  return {
    loadAverage: loadAverageNow(),
    othersCores: Math.round(othersCores * 1000) / 1000,
    reason: reasons.length ? `${reasons.join('; ')} (${availableParallelism()} cores)` : null,
  };
}

/**
 * Decides whether a finished run may be recorded. Returns the fields to put in the record
 * (`underLoad`, `loadReasons`, `loadRule`) and whether to write it; prints why when refusing.
 */
export function recordDecision({ reasons, force, quick = false, what }) {
  const underLoad = reasons.length > 0;
  const fields = { underLoad, loadReasons: reasons, loadRule: LOAD_RULE };
  if (quick) {
    process.stderr.write(`quick run: ${what} not recorded\n`);
    return { write: false, fields };
  }
  if (!underLoad) return { write: true, fields };
  const list = reasons.map((r) => `  - ${r}`).join('\n');
  if (force) {
    process.stderr.write(`recording ${what} UNDER LOAD (--force); the record says so:\n${list}\n`);
    return { write: true, fields };
  }
  process.stderr.write(
    `not recording ${what}: the machine was under load (${LOAD_RULE}):\n${list}\n` +
      'Run it again on an idle machine, or pass --force to record it marked "under load".\n',
  );
  return { write: false, fields };
}

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));

/**
 * The end of a guarded benchmark: decides whether the run may be recorded (`recordDecision`), puts
 * the decision into `record`, prints the page `render(record)` makes and, when recorded, writes
 * bench/results/<topic>.json and docs/benchmarks/<topic>.md. A refused full run exits with code 2;
 * quick and partial runs are printed only.
 */
export function finishRecord({ record, reasons, force, quick, partial, what, topic, render }) {
  const decision = recordDecision({ reasons, force, quick: quick || partial, what });
  Object.assign(record, decision.fields);
  const doc = render(record);
  process.stdout.write(doc);
  if (decision.write) {
    mkdirSync(join(BENCH_DIR, 'results'), { recursive: true });
    writeFileSync(join(BENCH_DIR, 'results', `${topic}.json`), `${JSON.stringify(record, null, 2)}\n`);
    writeFileSync(join(BENCH_DIR, '..', 'docs', 'benchmarks', `${topic}.md`), doc);
    process.stderr.write(`recorded bench/results/${topic}.json and docs/benchmarks/${topic}.md\n`);
  } else if (!quick && !partial) {
    process.exitCode = 2;
  }
}
