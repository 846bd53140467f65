import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';

/**
 * Who holds a role recorded in a shared file (the SQLite dispatcher row, a replay's lock):
 * `host/uuid`, with the holder's pid beside it. A pid is only meaningful on the host (PID
 * namespace) that wrote it.
 */
export function newOwnerId(): string {
  return `${hostname()}/${randomUUID()}`;
}

/**
 * Whether the holder named by `owner` ran on this host. A container sharing the data directory
 * has its own pids: one of its live processes may look gone from here, so it is waited out.
 */
export function sameHost(owner: string): boolean {
  return owner.startsWith(`${hostname()}/`);
}

/** Whether a process of this host is still running. */
export function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the process that recorded `owner` and `pid` is certainly gone. */
export function holderIsGone(owner: string, pid: number): boolean {
  return sameHost(owner) && !isAlive(pid);
}
