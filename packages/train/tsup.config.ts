import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: ['src/index.ts', 'src/node.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    // One shared chunk for both entries in CommonJS too (as in ESM): node.cjs carries no second copy
    // of the library, so a model frozen with index.cjs's freezeModel trains frozen in node.cjs's loops.
    splitting: true,
    target: 'es2022',
    external: [/^@tensorflow\//, /^@resnet\//],
    shims: true,
  },
  {
    // Worker threads load these by path as ESM (dist/<name>.js), from either entry.
    entry: ['src/parallel-worker.ts', 'src/image-loader-worker.ts'],
    format: ['esm'],
    sourcemap: true,
    target: 'es2022',
    external: [/^@tensorflow\//, /^@resnet\//],
  },
]);
