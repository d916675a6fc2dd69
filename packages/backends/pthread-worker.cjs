// The worker script of tfjs's threaded WASM backend in Node (used by initBackend({ threads })).
// tfjs hands Emscripten a Blob URL for it, which Node's worker_threads cannot load; this file
// runs the same script, and points the main module at the installed threaded glue file.
'use strict';
const path = require('node:path');
const vm = require('node:vm');
const wasmOut = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '..', 'wasm-out');
const { wasmWorkerContents } = require(path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js'));
globalThis.require = require;
globalThis.__filename = __filename;
URL.createObjectURL = () => path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js');
// The script is stored in a template literal: its "\n" escapes became newlines; restore them.
vm.runInThisContext(wasmWorkerContents.replace(/\n/g, '\\n'), {
  filename: 'tfjs-backend-wasm-threaded-simd.worker.js',
});
