import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    external: [/^@tensorflow\//, /^@resnet\//],
  },
  {
    entry: ['src/bin.ts'],
    format: ['esm'],
    sourcemap: true,
    target: 'es2022',
    external: [/^@tensorflow\//, /^@resnet\//, './index.js'],
  },
]);
