/**
 * Number formatting as torchinfo prints it (Python's format mini-language): thousands separators,
 * two decimals rounded half-to-even on the exact binary value, and automatic units.
 */

/** 1234567 → "1,234,567" (integers only). */
export function groupThousands(n: number): string {
  const sign = n < 0 ? '-' : '';
  const digits = String(Math.abs(Math.trunc(n)));
  return sign + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * Python's `f"{x:,.{decimals}f}"`: the double is rounded to `decimals` places half-to-even on its
 * exact binary value (JavaScript's toFixed breaks exact ties upward instead).
 */
export function fixedPython(x: number, decimals = 2): string {
  let s = x.toFixed(decimals);
  // An exact tie shows as ...5000… in the exact expansion; Python keeps the even neighbour.
  const exact = Math.abs(x).toFixed(Math.min(100, decimals + 60));
  const dot = exact.indexOf('.');
  const tail = exact.slice(dot + 1 + decimals);
  if (/^50*$/.test(tail)) {
    const down = (Math.sign(x) * Math.floor(Math.abs(x) * 10 ** decimals)) / 10 ** decimals;
    const downText = down.toFixed(decimals);
    const lastDigit = Number(downText[downText.length - 1]);
    if (lastDigit % 2 === 0) s = downText;
  }
  const [int, frac] = s.split('.');
  const grouped = int === undefined ? s : `${int.startsWith('-') ? '-' : ''}${groupThousands(Math.abs(Number(int)))}`;
  return frac === undefined ? grouped : `${grouped}.${frac}`;
}

const UNITS: [number, string][] = [
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
];

/**
 * torchinfo's totals line value: `" (G): 4.09"`, `" (MB): 177.83"`, `": 25,557,032"`.
 * `auto` picks T/G/M/k at 1e12/1e9/1e6/1e3; an integral quotient prints without decimals.
 */
export function totalsValue(n: number, options: { auto: boolean; bytes: boolean }): string {
  let unit = '';
  let value = n;
  if (options.auto) {
    for (const [factor, name] of UNITS) {
      if (n >= factor) {
        unit = name;
        value = n / factor;
        break;
      }
    }
  }
  const label = unit === '' ? '' : ` (${unit}${options.bytes ? 'B' : ''})`;
  const text = Number.isInteger(value) ? groupThousands(value) : fixedPython(value, 2);
  return `${label}: ${text}`;
}

/** Python's `f"{ratio:>7.2%}"` (torchinfo's Param % cell). */
export function percentPython(ratio: number): string {
  return `${fixedPython(ratio * 100, 2)}%`.padStart(7);
}

/** A byte count for people: "602.11 kB", "177.83 MB" (decimal units, as torchinfo). */
export function humanBytes(n: number): string {
  for (const [factor, name] of UNITS) if (n >= factor) return `${fixedPython(n / factor, 2)} ${name}B`;
  return `${groupThousands(n)} B`;
}

/** A count for people: "4.09 G", "25.56 M". */
export function humanCount(n: number): string {
  for (const [factor, name] of UNITS) if (n >= factor) return `${fixedPython(n / factor, 2)} ${name}`;
  return groupThousands(n);
}
