import {
  EventData,
  EventStore,
  NO_STREAM_REVISION,
  NewEvent,
  WrongExpectedRevisionError,
} from './event-store';

export interface DomainEvent {
  type: string;
  data: EventData;
}

export interface Decider<S, E extends DomainEvent> {
  evolve(state: S, event: E): S;
  initialState: S;
}

export interface Execution<S, E> {
  state: S;
  events: E[];
  /** Global position of the last appended event, or null when nothing was appended. */
  position: number | null;
}

const MAX_ATTEMPTS = 5;
const EVENT_VERSION = 1;

/**
 * Load a stream, fold it into state, decide, and append with the stream's revision as the
 * expected revision. A concurrent writer makes the append fail; the command is then decided
 * again on the fresh state, so no write is lost and no decision is made on stale state.
 */
export async function executeOnStream<S, E extends DomainEvent>(
  store: EventStore,
  streamId: string,
  decider: Decider<S, E>,
  decide: (state: S) => E[],
): Promise<Execution<S, E>> {
  for (let attempt = 1; ; attempt++) {
    const recorded = await store.readStream(streamId);
    const state = recorded.reduce(
      (s, e) => decider.evolve(s, { type: e.type, data: e.data } as E),
      decider.initialState,
    );
    const events = decide(state);
    if (events.length === 0) return { state, events, position: null };
    const revision =
      recorded.length > 0 ? recorded[recorded.length - 1].revision : NO_STREAM_REVISION;
    try {
      const result = await store.append(
        streamId,
        toNewEvents(events),
        revision === NO_STREAM_REVISION ? 'no_stream' : revision,
      );
      return { state: events.reduce(decider.evolve, state), events, position: result.position };
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError) || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}

/**
 * Appends events decided on a state whose only relevant part cannot change once the stream
 * exists (its identity): a fact such as a delivery attempt is recorded whatever else was appended
 * meanwhile, so the stream is not read back and a concurrent append is no conflict. Fails when
 * the stream does not exist. Returns the last event's global position.
 */
export async function appendToExisting<E extends DomainEvent>(
  store: EventStore,
  streamId: string,
  events: E[],
): Promise<number> {
  return (await store.append(streamId, toNewEvents(events), 'stream_exists')).position;
}

function toNewEvents(events: readonly DomainEvent[]): NewEvent[] {
  return events.map((e) => ({ type: e.type, data: e.data, metadata: { version: EVENT_VERSION } }));
}
