import { Difference, ReplaySummary, VerifySummary } from './read-model-replay';
import { count } from './progress';

const MAX_VALUE = 80;

/** One line per difference, for the operator: where, and what each side holds. */
export function describeDifference({ table, key, kind, fields }: Difference): string {
  if (kind === 'missing') return `${table} ${key}: missing from the live read model`;
  if (kind === 'unexpected') return `${table} ${key}: in the live read model, not in the rebuild`;
  const changes = fields.map(
    ({ field, live, rebuilt }) => `${field}: live ${show(live)}, rebuilt ${show(rebuilt)}`,
  );
  return `${table} ${key}: ${changes.join('; ')}`;
}

function show(value: unknown): string {
  const text = value === undefined ? '(none)' : JSON.stringify(value);
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}

function rowsLine(rows: Record<string, number>): string {
  return Object.entries(rows)
    .map(([table, n]) => `${table} ${count(n)}`)
    .join(', ');
}

function rate(events: number, ms: number): string {
  return `${(ms / 1000).toFixed(1)} s, ${count(Math.round((events * 1000) / Math.max(ms, 1)))} events/s`;
}

export function replayReport(summary: ReplaySummary): string {
  return [
    `Replayed ${count(summary.events)} events in ${rate(summary.events, summary.rebuildMs)} on ${summary.threads === 1 ? '1 thread' : `${summary.threads} threads`}; switched over at position ${count(summary.position)}; the replaced read models removed in ${(summary.cleanupMs / 1000).toFixed(1)} s.`,
    `Rows: ${rowsLine(summary.rows)}.`,
  ].join('\n');
}

export function verifyReport(summary: VerifySummary, ms: number, printed: number): string {
  const verdict =
    summary.differences === 0
      ? 'No drift: the live read models match a rebuild from the log.'
      : `Drift: ${count(summary.differences)} difference(s)` +
        (printed < summary.differences ? ` (${count(printed)} printed; --limit N for more)` : '') +
        '.';
  return [
    `Rebuilt ${count(summary.events)} events in ${rate(summary.events, ms)} and compared at position ${count(summary.position)}.`,
    `Rows: ${rowsLine(summary.rows)}.`,
    verdict,
  ].join('\n');
}
