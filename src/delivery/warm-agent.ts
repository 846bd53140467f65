import http, { ClientRequestArgs } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';

/** Idle pre-opened connections kept per origin at most. */
export const SPARES_PER_ORIGIN = 2;

const ACCEPTED = Symbol('acceptedConnection');

interface Spare {
  socket: net.Socket;
  /** Set one event-loop turn after the connect completed; only then is it handed out. */
  settled: boolean;
  release(): void;
}

/**
 * A keep-alive agent for plain http that opens connections ahead of need. Whenever an origin's
 * open connections are all busy and the pool must open another one for a request, the agent
 * also opens up to SPARES_PER_ORIGIN spare connections in the background, and hands a connected
 * spare to the next request that would otherwise wait for a new connection.
 *
 * Why: a request written to a brand-new plain-http connection can be overtaken by a request
 * written just after it to an open connection, because the receiver reads open connections
 * before it accepts new ones. A sender keeping first attempts in publish order must therefore
 * wait for the answer on a new connection before sending the next request, which stalls the
 * endpoint's queue for a round trip. A spare was connected at least one event-loop turn before it
 * carries a request, so the receiver has had time to accept it and reads it like a pooled
 * connection. `isAcceptedConnection` tells the sender which sockets these are.
 *
 * Spares exist only for origins busy enough to need new connections, and close after
 * `spareIdleMs` unused. They connect to the same checked addresses as the request that caused
 * them (the request's own `lookup`), so the send-time SSRF check covers them too.
 */
export class WarmingHttpAgent extends http.Agent {
  private readonly spares = new Map<string, Spare[]>();
  private readonly opening = new Map<string, number>();
  private readonly spareIdleMs: number;
  private destroyed = false;

  constructor(options: http.AgentOptions & { spareIdleMs: number }) {
    super(options);
    this.spareIdleMs = options.spareIdleMs;
  }

  override createConnection(
    options: ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const name = this.getName(options);
    const spare = this.takeSpare(name);
    // Busy: every open connection of the origin is carrying a request. A first connection to an
    // idle origin opens no spares.
    if (this.sockets[name]?.some((socket) => !socket.destroyed)) this.replenish(name, options);
    if (spare) return spare;
    return super.createConnection(options, callback);
  }

  override destroy(): void {
    this.destroyed = true;
    for (const list of this.spares.values()) {
      for (const spare of list.splice(0)) spare.socket.destroy();
    }
    this.spares.clear();
    super.destroy();
  }

  /** Idle spares per origin (for tests and diagnostics). */
  spareCount(): number {
    let count = 0;
    for (const list of this.spares.values()) count += list.length;
    return count;
  }

  private takeSpare(name: string): net.Socket | undefined {
    const list = this.spares.get(name);
    if (!list) return undefined;
    const index = list.findIndex((s) => s.settled && !s.socket.destroyed && s.socket.writable);
    if (index < 0) return undefined;
    const [spare] = list.splice(index, 1);
    if (list.length === 0) this.spares.delete(name);
    spare.release();
    return spare.socket;
  }

  private replenish(name: string, options: ClientRequestArgs): void {
    if (this.destroyed) return;
    const opening = this.opening.get(name) ?? 0;
    const wanted = SPARES_PER_ORIGIN - (this.spares.get(name)?.length ?? 0) - opening;
    for (let i = 0; i < wanted; i++) this.open(name, options);
  }

  private open(name: string, options: ClientRequestArgs): void {
    this.opening.set(name, (this.opening.get(name) ?? 0) + 1);
    const socket = net.createConnection({
      host: options.host ?? options.hostname ?? undefined,
      port: Number(options.port),
      family: options.family,
      lookup: options.lookup,
      localAddress: options.localAddress,
      keepAlive: true,
    });
    socket.unref();
    let counted = true;
    const stopOpening = (): void => {
      if (!counted) return;
      counted = false;
      const left = (this.opening.get(name) ?? 1) - 1;
      if (left > 0) this.opening.set(name, left);
      else this.opening.delete(name);
    };
    const spare: Spare = {
      socket,
      settled: false,
      release: () => {
        socket.off('error', drop);
        socket.off('close', drop);
        socket.off('timeout', drop);
        socket.off('connect', connected);
        socket.setTimeout(0);
        socket.ref();
        (socket as net.Socket & { [ACCEPTED]?: true })[ACCEPTED] = true;
      },
    };
    const drop = (): void => {
      stopOpening();
      const list = this.spares.get(name);
      const index = list?.indexOf(spare) ?? -1;
      if (list && index >= 0) {
        list.splice(index, 1);
        if (list.length === 0) this.spares.delete(name);
      }
      socket.destroy();
    };
    const connected = (): void => {
      stopOpening();
      if (this.destroyed) {
        socket.destroy();
        return;
      }
      socket.setTimeout(this.spareIdleMs);
      const list = this.spares.get(name) ?? [];
      list.push(spare);
      this.spares.set(name, list);
      setImmediate(() => (spare.settled = true));
    };
    socket.on('error', drop);
    socket.on('close', drop);
    socket.on('timeout', drop);
    socket.once('connect', connected);
  }
}

/** Whether `socket` is a pre-opened connection the receiver had time to accept before use. */
export function isAcceptedConnection(socket: unknown): boolean {
  return (
    typeof socket === 'object' &&
    socket !== null &&
    (socket as { [ACCEPTED]?: true })[ACCEPTED] === true
  );
}
