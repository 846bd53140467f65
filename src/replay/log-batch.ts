import { EventFilter, RecordedEvent, matchesFilter } from '../eventstore/event-store';

/**
 * One read of the log (up to `maxCount` events), split for a set of projections as a rebuild
 * applies it: each gets, in log order, the events its filter takes up to its own last position
 * (`until`, verify's live checkpoints; else `head`). `position` is how far the read covers: the
 * last event read when the page was full and ended before `head` (more may follow), else `head`.
 */
export function splitRead(
  read: readonly RecordedEvent[],
  maxCount: number,
  head: number,
  projections: readonly { filter: EventFilter }[],
  until?: readonly number[],
): { parts: RecordedEvent[][]; position: number } {
  const batch = read.filter((e) => e.position <= head);
  const parts = projections.map((projection, i) => {
    const last = until?.[i] ?? head;
    return batch.filter((e) => e.position <= last && matchesFilter(e, projection.filter));
  });
  const full = read.length === maxCount && read[read.length - 1].position < head;
  return { parts, position: full ? read[read.length - 1].position : head };
}
