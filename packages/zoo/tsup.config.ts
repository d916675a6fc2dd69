import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/node.ts', 'src/pool-worker.ts'],
  format: ['esm', 'cjs'],
  dts: { entry: ['src/index.ts', 'src/node.ts'] },
  sourcemap: true,
  clean: true,
  splitting: true, // also for CommonJS: node.cjs and index.cjs share one chunk of the registry's data
  shims: true,
  target: 'es2022',
  external: [/^@tensorflow\//, /^@resnet\//],
});
