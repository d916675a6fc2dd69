// Renders docs/benchmarks/serving.md from bench/results/serving.json (the table is generated, never
// typed); the "Serving at scale" guide includes its table region. Without a record it says how to
// make one. `node bench/serving-doc.mjs` regenerates the page from the record.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, table, timingCells } from './common.mjs';

export function renderServingDoc(record) {
  const out = ['# Serving speed: onnxruntime-node and our WASM path', ''];
  out.push('<!-- #region table -->');
  if (!record) {
    out.push(
      'Not recorded yet: `pnpm bench:serving` (bench/serving.mjs) measures it on an idle machine and writes this table.',
    );
  } else {
    out.push(
      `Measured on ${record.date} on ${record.machine} by \`pnpm bench:serving\` (bench/serving.mjs), in one run of ` +
        `${record.durationSeconds} s${record.quick ? ' (quick mode)' : ''}; load average ${record.loadAverage.start} → ` +
        `${record.loadAverage.end}. Same torchvision weights and 224×224 images for every row: ours runs the model, ` +
        'onnxruntime-node the file `exportOnnx` wrote from it. "× ours" is our median at the same thread count ' +
        'divided by onnxruntime’s (how many times faster it serves); "diff" is the largest difference of the logits ' +
        'from ours on one thread, relative to their largest magnitude.',
    );
    out.push('');
    const groups = [...new Set(record.results.map((r) => `${r.arch}|${r.batch}`))];
    for (const key of groups) {
      const [arch, b] = key.split('|');
      const rows = record.results.filter((r) => r.arch === arch && r.batch === Number(b));
      const oursAt = (threads) => rows.find((r) => !r.peer && r.threads === threads && r.id !== 'ours-pool');
      out.push(`**${arch}, batch ${b}**`, '');
      out.push(
        table(
          ['configuration', 'threads', 'median ms', 'p90 ms', 'img/s', 'diff', '× ours'],
          rows.map((r) => [
            ...timingCells(r),
            r.diffVsOurs.toExponential(1),
            r.peer && oursAt(r.threads) ? `${fmt(oursAt(r.threads).medianMs / r.medianMs, 2)}×` : '',
          ]),
          ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
        ),
        '',
      );
    }
  }
  out.push('<!-- #endregion table -->', '');
  return `${out.join('\n')}\n`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const here = dirname(fileURLToPath(import.meta.url));
  const path = join(here, 'results', 'serving.json');
  const record = existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : null;
  writeFileSync(join(here, '..', 'docs', 'benchmarks', 'serving.md'), renderServingDoc(record));
}
