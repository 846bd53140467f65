import { PublishedEvent } from './published-event';

/** The `raw` body of DESIGN §3: `{"type","timestamp","data"}` in that key order. */
export function renderRaw(event: PublishedEvent): string {
  return JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event.data });
}
