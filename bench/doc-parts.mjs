// What the benchmark pages say about how their record was taken (bench/render.mjs).
import { LOAD_RULE } from './load-guard.mjs';

/**
 * The paragraph on when and how a record was taken: date, machine, load and the refusal rule, with
 * a warning when the run was under load (a record written with `--force`, or a refused run's
 * printout) or when the record predates the load guard.
 */
export function loadSection(record, command, script) {
  const out = [];
  if (record.loadRule === undefined) {
    out.push(
      '::: warning Recorded before the load guard\nThis record was taken by an earlier version of the benchmark, which ran ' +
        'each configuration’s repetitions back to back and did not measure what other processes used meanwhile: it may ' +
        `have been taken under load. Re-run \`${command}\` on an idle machine to replace it.\n:::`,
      '',
    );
  } else if (record.underLoad) {
    const reasons = record.loadReasons;
    const shown = reasons.slice(0, 6).join('; ') + (reasons.length > 6 ? `; and ${reasons.length - 6} more` : '');
    out.push(
      `::: warning Taken under load\nThe machine was busy during this run: ${shown}. Its timings are not trustworthy; ` +
        're-run on an idle machine.\n:::',
      '',
    );
  }
  const load = record.loadAverage;
  const loadText =
    (record.othersCoresBeforeRun === undefined
      ? ''
      : ` Other processes used ${record.othersCoresBeforeRun} cores just before the run.`) +
    (load && typeof load === 'object'
      ? ` 1-minute load average ${load.start} before the run and ${load.end} after it (the benchmark’s own processes included).`
      : '');
  out.push(
    `Measured on ${record.date}${record.time ? ` ${record.time} UTC` : ''} on ${record.machine} by \`${command}\` (${script})` +
      `${record.durationSeconds ? `, in one run of ${record.durationSeconds} s` : ''}${record.quick ? ' (quick mode)' : ''}.${loadText} ` +
      `The benchmark refuses to record a run taken under load: ${record.loadRule ?? LOAD_RULE}. ` +
      'Compare ratios from the same run rather than absolute times.',
    '',
  );
  return out;
}
