import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/node.ts', 'src/parallel-worker.ts', 'src/image-loader-worker.ts'],
  dts: { entry: ['src/index.ts', 'src/node.ts'] },
  format: ['esm', 'cjs'],
  sourcemap: true,
  clean: true,
  target: 'es2022',
  external: [/^@tensorflow\//, /^@resnet\//],
  shims: true,
});
