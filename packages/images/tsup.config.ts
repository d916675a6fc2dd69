import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/node.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  // One shared chunk for both entries in CommonJS too (as in ESM): no second copy of the library in node.cjs.
  splitting: true,
  target: 'es2022',
  external: [/^@tensorflow\//, /^@resnet\//, 'fast-png', 'jpeg-js'],
});
