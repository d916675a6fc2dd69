#!/usr/bin/env node
import { main } from './index.js'; // the package's own ESM entry (external in the bin build: one copy of the CLI in dist)

const code = await main(process.argv.slice(2), {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  isTTY: Boolean(process.stdout.isTTY),
});
process.exitCode = code;
