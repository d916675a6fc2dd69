// Renders docs/benchmarks/inference.md from bench/results/inference.json (the tables are
// generated, never typed). `node bench/inference-doc.mjs` regenerates the page from the record.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, table, timingCells } from './common.mjs';

export function renderInferenceDoc(record) {
  const out = [];
  out.push('# Inference speed');
  out.push('');
  out.push(
    `Measured on ${record.date} on ${record.machine} by \`pnpm bench\` (bench/inference.mjs), in one run of ` +
      `${record.durationSeconds} s${record.quick ? ' (quick mode: 2 runs per configuration)' : ''}. ` +
      `Load average (1 min) ${record.loadAverage.start} at the start and ${record.loadAverage.end} at the end: ` +
      'the machine is shared, so compare ratios from the same run rather than absolute times.',
  );
  out.push('');
  out.push(
    'Every configuration runs in a process of its own on the same deterministic 224×224 images, with the same ' +
      'torchvision weights: ours loads the state_dict, onnxruntime the ONNX file that Debian’s torch exported from ' +
      'that state_dict during the run. "diff" is the largest difference of the first image’s logits from ' +
      'onnxruntime-node’s, relative to their largest magnitude. Latency is the wall time of one forward pass of ' +
      'the whole batch, including reading the output.',
  );
  out.push('');
  out.push(
    `Versions: ${Object.entries(record.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
  );
  out.push('');
  const groups = [];
  for (const r of record.results) {
    const key = `${r.arch}|${r.batch}`;
    if (!groups.includes(key)) groups.push(key);
  }
  for (const key of groups) {
    const [arch, batchText] = key.split('|');
    const batch = Number(batchText);
    const rows = record.results.filter((r) => r.arch === arch && r.batch === batch);
    const peers = rows.filter((r) => r.peer);
    out.push(`## ${arch}, batch ${batch}`);
    out.push('');
    out.push(
      table(
        ['configuration', 'threads', 'median ms', 'p90 ms', 'img/s', 'diff', ...peers.map((p) => `÷ ${p.label}`)],
        rows.map((r) => [
          ...timingCells(r),
          r.diffVsOnnxruntime === null ? '—' : r.diffVsOnnxruntime.toExponential(1),
          ...peers.map((p) => (r.peer ? '' : `${fmt(r.medianMs / p.medianMs, 2)}×`)),
        ]),
        ['l', 'r', 'r', 'r', 'r', 'r', ...peers.map(() => 'r')],
      ),
    );
    out.push('');
    out.push('The ÷ columns are our median latency divided by the peer’s (below 1: we are faster).');
    out.push('');
  }
  out.push('## Goals');
  out.push('');
  out.push(...goals(record));
  out.push('');
  return `${out.join('\n')}\n`;
}

function goals(record) {
  const find = (arch, batch, id) => record.results.find((r) => r.arch === arch && r.batch === batch && r.id === id);
  const lines = [];
  const web1 = find('resnet50', 1, 'ort-web-1');
  const opt1 = find('resnet50', 1, 'ours-opt');
  const optT = find('resnet50', 1, 'ours-opt-threads');
  if (web1 && opt1) {
    const r1 = opt1.medianMs / web1.medianMs;
    lines.push(
      `- ResNet-50 batch-1 latency at most 0.75× onnxruntime-web’s at one thread: ours optimised on one thread ` +
        `${fmt(opt1.medianMs)} ms vs ${fmt(web1.medianMs)} ms = **${fmt(r1, 2)}×** (${r1 <= 0.75 ? 'met' : 'not met'})` +
        (optT
          ? `; with ${optT.threads} WASM threads ${fmt(optT.medianMs)} ms = **${fmt(optT.medianMs / web1.medianMs, 2)}×** ` +
            `(${optT.medianMs / web1.medianMs <= 0.75 ? 'met' : 'not met'} using all cores).`
          : '.'),
    );
  }
  const webAll = find('resnet50', 8, 'ort-web-all');
  const best = ['ours-pool', 'ours-opt-threads']
    .map((id) => find('resnet50', 8, id))
    .filter(Boolean)
    .sort((a, b) => b.imagesPerSecond - a.imagesPerSecond)[0];
  if (webAll && best) {
    const r2 = best.imagesPerSecond / webAll.imagesPerSecond;
    lines.push(
      `- ResNet-50 throughput with all cores at least 1.5× onnxruntime-web’s with all threads (batch 8): ` +
        `${best.label} ${fmt(best.imagesPerSecond, 2)} img/s vs ${fmt(webAll.imagesPerSecond, 2)} img/s = ` +
        `**${fmt(r2, 2)}×** (${r2 >= 1.5 ? 'met' : 'not met'}).`,
    );
  }
  return lines;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const here = dirname(fileURLToPath(import.meta.url));
  const record = JSON.parse(readFileSync(join(here, 'results', 'inference.json'), 'utf8'));
  writeFileSync(join(here, '..', 'docs', 'benchmarks', 'inference.md'), renderInferenceDoc(record));
}
