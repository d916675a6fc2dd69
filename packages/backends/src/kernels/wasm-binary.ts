/**
 * Our module imports `env.memory` as a plain memory. tfjs's threaded build runs on a shared one
 * (a SharedArrayBuffer, at most 4 GiB), which a module can import only if it declares it shared
 * with a maximum. The code is the same (clang compiles it identically with or without the atomics
 * feature; the build script checks this against a `--shared-memory` link): only the import's
 * limits differ. So the shared variant is made here, from the one module we ship.
 */

function readLeb(bytes: Uint8Array, at: number): { value: number; next: number } {
  let value = 0;
  let shift = 0;
  let i = at;
  for (;;) {
    const b = bytes[i++] as number;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return { value, next: i };
    shift += 7;
  }
}

function leb(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
  return out;
}

/** `module` with its memory import declared shared, with `maximumPages` (65536: 4 GiB) as maximum. */
export function withSharedMemoryImport(module: Uint8Array, maximumPages = 65536): Uint8Array<ArrayBuffer> {
  const out: number[] = Array.from(module.subarray(0, 8)); // magic and version
  let at = 8;
  let patched = false;
  while (at < module.length) {
    const id = module[at] as number;
    const size = readLeb(module, at + 1);
    const body = module.subarray(size.next, size.next + size.value);
    at = size.next + size.value;
    if (id !== 2) {
      out.push(id, ...leb(body.length), ...body);
      continue;
    }
    // Import section: count, then (module name, field name, kind, type) per import.
    const section: number[] = [];
    const count = readLeb(body, 0);
    section.push(...leb(count.value));
    let p = count.next;
    for (let i = 0; i < count.value; i++) {
      const start = p;
      const moduleName = readLeb(body, p);
      p = moduleName.next + moduleName.value;
      const field = readLeb(body, p);
      p = field.next + field.value;
      const kind = body[p++] as number;
      section.push(...body.subarray(start, p));
      if (kind !== 2) throw new Error('our WASM module imports something other than its memory');
      const flags = body[p++] as number;
      const min = readLeb(body, p);
      p = min.next;
      if (flags & 1) p = readLeb(body, p).next;
      section.push(0x03, ...leb(min.value), ...leb(maximumPages));
      patched = true;
    }
    out.push(id, ...leb(section.length), ...section);
  }
  if (!patched) throw new Error('our WASM module has no memory import');
  return Uint8Array.from(out);
}
