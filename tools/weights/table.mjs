// The weights table (markdown) from @resnet/zoo's registry: one renderer for the docs' generated
// page (docs/scripts/generate.mjs) and the generated region of packages/zoo/README.md (checked by
// packages/zoo/test/readme.test.ts).

const int = (n) => n.toLocaleString('en-US');

/** Markdown lines of a table with one row per checkpoint of `entries` (listWeights()). */
export function weightsTable(entries) {
  const lines = [
    '| preset | weights | acc@1 | acc@5 | parameters | GFLOPS | file (MB) | resize → crop |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const e of entries) {
    const name = e.isDefault ? `\`${e.name}\` (DEFAULT)` : `\`${e.name}\``;
    const t = e.transforms;
    lines.push(
      `| \`${e.arch}\` | ${name} | ${e.meta.acc1.toFixed(3)} | ${e.meta.acc5.toFixed(3)} | ${int(e.meta.numParams)} | ${e.meta.gflops.toFixed(3)} | [${e.meta.fileSizeMB.toFixed(1)}](${e.url}) | ${t.resizeSize} → ${t.cropSize} |`,
    );
  }
  return lines;
}
