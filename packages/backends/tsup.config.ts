import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  shims: false,
  // The CJS build finds its own file through __filename (see moduleUrl in init-backend.ts).
  esbuildOptions(options) {
    options.logOverride = { 'empty-import-meta': 'silent' };
  },
  target: 'es2022',
  // tfjs-core's gradient definitions (deep dist/ imports) are bundled; its main entry and the
  // backends stay external, so one tfjs-core instance owns every registry.
  external: [/^@tensorflow\/tfjs-core$/, /^@tensorflow\/tfjs-backend-/, /^@tensorflow\/tfjs-node$/],
  noExternal: [/^@tensorflow\/tfjs-core\/dist\//],
});
