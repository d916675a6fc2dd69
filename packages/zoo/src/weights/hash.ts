/**
 * torch.hub's integrity rule: a checkpoint's file name carries the first hex digits of its SHA-256
 * (`resnet50-11ad3fa6.pth`), and a download whose digest does not start with them is refused.
 * torch.hub takes the digits between a `-` and the next `.` (`HASH_REGEX = -([a-f0-9]*)\.`); we take
 * those after the last `-` of the name, before its extension, and ask for at least 8 of them, so a
 * name like `my-model.pth` or `net-ab.pth` does not count as carrying a hash.
 */
const HASH_IN_NAME = /-([0-9a-f]{8,64})\.[^-]*$/;

/** The SHA-256 prefix a file name or URL carries, or null: `resnet50-11ad3fa6.pth` → `11ad3fa6`. */
export function hashPrefixOf(fileNameOrUrl: string): string | null {
  return HASH_IN_NAME.exec(fileNameOf(fileNameOrUrl))?.[1] ?? null;
}

/** The last path segment of a URL or path, decoded: `https://h/models/a-1.pth?x=1` → `a-1.pth`. */
export function fileNameOf(urlOrPath: string): string {
  let path = urlOrPath;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(urlOrPath)) {
    try {
      path = new URL(urlOrPath).pathname;
    } catch {
      // not a URL after all: use it as a path
    }
  }
  const last = path.split(/[\\/]/).pop() ?? '';
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

/** Lower-case hex of bytes (a digest). */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}
