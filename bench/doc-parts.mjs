// Pieces shared by the benchmark pages' renderers: tables, and how the record was taken.
import { LOAD_RULE } from './load-guard.mjs';

/** A markdown table; `align` holds 'l' or 'r' per column. */
export function mdTable(header, rows, align) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(align.map((a) => (a === 'r' ? '---:' : ':---'))), ...rows.map(line)].join('\n');
}

/**
 * The paragraph on when and how a record was taken: date, machine, load, the refusal rule, and a
 * warning when it was recorded under load (`--force`).
 */
export function loadSection(record, command, script) {
  const out = [];
  if (record.underLoad) {
    out.push(
      `::: warning Recorded under load\nThis record was written with \`--force\` while the machine was busy: ${record.loadReasons.join('; ')}. ` +
        'Its timings are not trustworthy; re-run on an idle machine.\n:::',
      '',
    );
  }
  out.push(
    `Measured on ${record.date}${record.time ? ` ${record.time} UTC` : ''} on ${record.machine} by \`${command}\` (${script}), in one run of ` +
      `${record.durationSeconds} s${record.quick ? ' (quick mode)' : ''}. 1-minute load average ${record.loadAverage.start} ` +
      `before the run and ${record.loadAverage.end} after it (the benchmark’s own processes included). ` +
      `The benchmark refuses to record a run taken under load: ${record.loadRule ?? LOAD_RULE}. ` +
      'Compare ratios from the same run rather than absolute times.',
    '',
  );
  return out;
}
