import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

// The shipped weights (base64 of a float16 safetensors file, ~0.7 MB) stay one ESM file of their
// own, dist/resnet20-fashion-mnist-f16.js, imported dynamically by both builds (import() works
// from CommonJS too): bundlers make it a lazy chunk, and the tarball holds one copy, without a map.
const SHIPPED_WEIGHTS = './resnet20-fashion-mnist-f16.js';

export default defineConfig({
  entry: ['src/index.ts', 'src/node.ts', 'src/pool-worker.ts'],
  format: ['esm', 'cjs'],
  dts: { entry: ['src/index.ts', 'src/node.ts'] },
  sourcemap: true,
  clean: true,
  splitting: true, // also for CommonJS: node.cjs and index.cjs share one chunk of the registry's data
  shims: true,
  target: 'es2022',
  external: [/^@tensorflow\//, /^@resnet\//, SHIPPED_WEIGHTS],
  async onSuccess() {
    // The source module is plain JavaScript (a comment and one exported string).
    copyFileSync('src/weights/resnet20-fashion-mnist-f16.ts', `dist/${SHIPPED_WEIGHTS.slice(2)}`);
    // tsup's CommonJS splitting turns import() into require(), which cannot load an ES module in
    // Node 20: give the CommonJS chunks their import() back.
    const required = `Promise.resolve().then(() => _interopRequireWildcard(require("${SHIPPED_WEIGHTS}")))`;
    let found = 0;
    for (const name of readdirSync('dist').filter((f) => f.endsWith('.cjs'))) {
      const text = readFileSync(`dist/${name}`, 'utf8');
      if (!text.includes(required)) continue;
      found++;
      writeFileSync(`dist/${name}`, text.split(required).join(`import("${SHIPPED_WEIGHTS}")`));
    }
    if (found !== 1) throw new Error(`tsup.config.ts: expected one CommonJS chunk to require ${SHIPPED_WEIGHTS}, found ${found}`);
  },
});
