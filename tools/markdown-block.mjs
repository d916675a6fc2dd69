// Generated blocks of hand-written markdown pages: `<!-- NAME:start (how it is generated) -->` …
// `<!-- NAME:end -->`, rewritten by the tool that computes them (tools/figure6, tools/transfer).

/**
 * `text` with its block NAME replaced by `block` (which carries its own start and end markers), or
 * null when the page has no such block.
 */
export function replaceBlock(text, name, block) {
  const start = text.indexOf(`<!-- ${name}:start`);
  const endMarker = `<!-- ${name}:end -->`;
  const end = text.indexOf(endMarker);
  if (start < 0 || end < 0) return null;
  return `${text.slice(0, start)}${block}${text.slice(end + endMarker.length)}`;
}
