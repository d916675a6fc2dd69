#!/usr/bin/env node
// Compiles csrc/*.c (our convolution, BatchNorm, element-wise and layout kernels) with Debian's
// clang to WASM modules that import tfjs's memory, checks that they can only write through their
// pointer arguments (no data segment, no stack pointer use), and writes them zlib-compressed and
// base64-encoded to src/kernels/kernels-wasm.ts, which is committed so that building the package
// needs no C compiler (the check compares the decompressed bytes, so another zlib cannot fail it).
// Two builds: SIMD128 (multiply, then add), and relaxed SIMD (f32x4.relaxed_madd: a fused
// multiply-add where the CPU has one), for engines that have it (Chromium ≥ 114, Node ≥ 22).
// Debian's clang 14 encodes that instruction as the proposal's early `f32x4.fma` (0xfd 0xaf 0x01);
// the build rewrites each one, found by the disassembler, to the standard opcode (0xfd 0x85 0x02).
//   node scripts/build-wasm.mjs           rebuild src/kernels/kernels-wasm.ts
//   node scripts/build-wasm.mjs --check   fail unless the committed modules are what the source builds
//   node scripts/build-wasm.mjs --check --shared-out FILE
//                                         also link the SIMD128 build for a shared memory into FILE
//                                         (the test compares it with the variant made at run time)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { deflateSync, inflateSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCES = ['bn.c', 'elementwise.c', 'winograd.c', 'conv_gemm.c', 'conv_filter_grad.c'];
/** Headers the sources include (part of the source hash). */
const HEADERS = ['gemm.h'];
const target = join(pkg, 'src/kernels/kernels-wasm.ts');
const EXPORTS = [
  'bn_stats',
  'bn_apply',
  'bn_grad_sums',
  'bn_grad_apply',
  'relu',
  'relu_grad',
  'add',
  'to_chwn',
  'swap01',
  'winograd_filter',
  'winograd_block_tiles',
  'winograd_scratch',
  'winograd_conv',
  'winograd_filter_grad',
  'winograd_filter_grad_store',
  'conv_gemm_scratch_bytes',
  'conv_gemm',
  'conv_transposed_packed_floats',
  'conv_transposed_pack',
  'conv_transposed',
  'conv_filter_grad_band_rows',
  'conv_filter_grad',
  'conv_filter_grad_store',
];
const CLANG = process.env.CLANG ?? 'clang';
const OBJDUMP = process.env.LLVM_OBJDUMP ?? '/usr/lib/llvm-14/bin/llvm-objdump';

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.error || r.status !== 0) {
    console.error(
      `build-wasm: \`${cmd} ${args.join(' ')}\` failed: ${r.error?.message ?? r.stderr}\n` +
        "Install Debian's clang and lld (`node scripts/bootstrap.mjs --test` does).",
    );
    process.exit(1);
  }
  return r.stdout;
}

/** The file offset where a section with id `id` starts its content, and its size. */
function section(wasm, id) {
  let at = 8;
  while (at < wasm.length) {
    const sid = wasm[at];
    let size = 0;
    let shift = 0;
    let i = at + 1;
    for (;;) {
      const b = wasm[i++];
      size |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
    }
    if (sid === id) return { start: i, size };
    at = i + size;
  }
  throw new Error(`build-wasm: no section ${id}`);
}

/** Rewrites every f32x4.fma of clang 14 (0xfd 0xaf 0x01) to f32x4.relaxed_madd (0xfd 0x85 0x02). */
function standardRelaxedOpcodes(file) {
  const wasm = readFileSync(file);
  const code = section(wasm, 10);
  const asm = run(OBJDUMP, ['-d', file]);
  const offsets = [...asm.matchAll(/^\s*([0-9a-f]+):\s+fd af 01\s+f32x4\.fma$/gm)].map((m) =>
    Number.parseInt(m[1], 16),
  );
  const mentioned = (asm.match(/f32x4\.fma/g) ?? []).length;
  if (offsets.length === 0 || offsets.length !== mentioned) {
    console.error(`build-wasm: found ${offsets.length} of ${mentioned} f32x4.fma instructions to rewrite`);
    process.exit(1);
  }
  for (const offset of offsets) {
    const at = code.start + offset;
    if (wasm[at] !== 0xfd || wasm[at + 1] !== 0xaf || wasm[at + 2] !== 0x01) {
      console.error(`build-wasm: no f32x4.fma at code offset ${offset}`);
      process.exit(1);
    }
    wasm[at + 1] = 0x85;
    wasm[at + 2] = 0x02;
  }
  return { wasm, count: offsets.length };
}

function build(dir, name, extraFlags, linkFlags = []) {
  const flags = ['--target=wasm32', '-O2', '-msimd128', '-nostdlib', '-fno-builtin', '-Wall', '-Werror', ...extraFlags];
  const objects = SOURCES.map((source) => {
    const object = join(dir, `${name}-${source.replace(/\.c$/, '.o')}`);
    run(CLANG, [...flags, '-c', join(pkg, 'csrc', source), '-o', object]);
    const asm = run(OBJDUMP, ['-d', '-h', object]);
    if (/global\.(get|set)/.test(asm) || /\bDATA\b/.test(asm)) {
      console.error(
        `build-wasm: ${source} uses the stack or static data; the kernels must work only through their arguments`,
      );
      process.exit(1);
    }
    return object;
  });
  const file = join(dir, `${name}.wasm`);
  run(CLANG, [
    ...flags,
    '-Wl,--no-entry',
    '-Wl,--import-memory',
    '-Wl,--strip-all',
    ...linkFlags,
    ...EXPORTS.map((e) => `-Wl,--export=${e}`),
    ...objects,
    '-o',
    file,
  ]);
  return file;
}

function constant(name, doc, wasm) {
  const lines =
    deflateSync(wasm, { level: 9 })
      .toString('base64')
      .match(/.{1,100}/g) ?? [];
  return `/** ${doc} */\nexport const ${name} =\n${lines.map((l, i) => `  '${l}'${i < lines.length - 1 ? ' +' : ';'}`).join('\n')}\n`;
}

const dir = mkdtempSync(join(tmpdir(), 'resnet-wasm-'));
try {
  const plain = readFileSync(build(dir, 'plain', []));
  const relaxed = standardRelaxedOpcodes(build(dir, 'relaxed', ['-mrelaxed-simd', '-DRELAXED_SIMD']));
  const sharedOut = process.argv.indexOf('--shared-out');
  if (sharedOut > 0) {
    const file = build(
      dir,
      'shared',
      ['-matomics', '-mbulk-memory'],
      ['-Wl,--shared-memory', '-Wl,--max-memory=4294967296'],
    );
    writeFileSync(process.argv[sharedOut + 1], readFileSync(file));
  }
  const version = run(CLANG, ['--version']).split('\n')[0];
  const hash = createHash('sha256');
  for (const name of [...SOURCES, ...HEADERS]) hash.update(readFileSync(join(pkg, 'csrc', name)));
  const sha = hash.digest('hex');
  const ts = `// Generated by \`node scripts/build-wasm.mjs\` from csrc/${SOURCES.join(', csrc/')} (sha256 ${sha.slice(0, 16)}) with ${version}; do not edit.
// Both import env.memory (the tfjs WASM backend's memory); zlib-compressed (DecompressionStream('deflate')).
${constant('KERNELS_WASM_BASE64', 'Our WASM SIMD kernels (convolutions, BatchNorm, element-wise, layout), SIMD128.', plain)}
${constant('KERNELS_WASM_RELAXED_BASE64', `The same with relaxed SIMD: ${relaxed.count} fused multiply-adds (f32x4.relaxed_madd).`, relaxed.wasm)}`;
  if (process.argv.includes('--check')) {
    const committed = readFileSync(target, 'utf8');
    const header = (text) => text.split('\n', 1)[0];
    const modules = (text) =>
      [...text.matchAll(/export const (\w+) =\n((?:\s*'[^']*'(?: \+)?\n?)+);/g)].map(([, name, body]) => [
        name,
        inflateSync(Buffer.from([...body.matchAll(/'([^']*)'/g)].map((m) => m[1]).join(''), 'base64')),
      ]);
    const same = (a, b) => a.length === b.length && a.every(([n, w], i) => n === b[i][0] && w.equals(b[i][1]));
    if (header(committed) !== header(ts) || !same(modules(committed), modules(ts))) {
      console.error(
        'build-wasm: src/kernels/kernels-wasm.ts is not what csrc/*.c builds; run `node scripts/build-wasm.mjs`',
      );
      process.exit(1);
    }
    console.log(
      `build-wasm: src/kernels/kernels-wasm.ts matches csrc/*.c (${plain.length} and ${relaxed.wasm.length} bytes)`,
    );
  } else {
    writeFileSync(target, ts);
    console.log(
      `build-wasm: wrote src/kernels/kernels-wasm.ts (${plain.length} bytes of WASM, ${relaxed.wasm.length} with relaxed SIMD)`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
