// The weights table (markdown) from @resnet/zoo's registry: one renderer for the docs' generated
// page (docs/scripts/generate.mjs) and the generated region of packages/zoo/README.md (checked by
// packages/zoo/test/readme.test.ts).

const int = (n) => n.toLocaleString('en-US');

/** Markdown lines of a table with one row per checkpoint of `entries` (listWeights()). */
export function weightsTable(entries) {
  const lines = [
    '| preset | weights | from | data set | acc@1 | acc@5 | parameters | GFLOPS | file (MB) | resize → crop |',
    '| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const e of entries) {
    const name = e.isDefault ? `\`${e.name}\` (DEFAULT)` : `\`${e.name}\``;
    const t = e.transforms;
    // torchvision's weights link to their official file; ours ship inside @resnet/zoo (no URL).
    const from = e.source === 'torchvision' ? 'torchvision' : 'ours, `resnet train`';
    const file = e.url ? `[${e.meta.fileSizeMB.toFixed(1)}](${e.url})` : `${e.meta.fileSizeMB.toFixed(1)}, in the package`;
    const size = `${t.resizeSize} → ${t.cropSize}${t.channels === 1 ? ', grey' : ''}`;
    lines.push(
      `| \`${e.arch}\` | ${name} | ${from} | ${e.meta.dataset} | ${e.meta.acc1.toFixed(3)} | ${e.meta.acc5.toFixed(3)} | ${int(e.meta.numParams)} | ${e.meta.gflops.toFixed(3)} | ${file} | ${size} |`,
    );
  }
  return lines;
}
