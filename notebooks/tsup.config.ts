import { defineConfig } from 'tsup';

// The generator's command line; the notebooks themselves are not bundled.
export default defineConfig({
  entry: ['src/cli.ts'],
  format: ['esm'],
  sourcemap: true,
  clean: true,
  target: 'es2022',
  external: ['typescript'],
});
