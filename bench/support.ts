import { mkdtempSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';

/** statfs magic numbers of common filesystems: tmpfs makes fsync free, so say where we ran. */
const FILESYSTEMS: Record<number, string> = {
  0xef53: 'ext2/3/4',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x01021994: 'tmpfs: fsync is free, not a durable disk',
  0x794c7630: 'overlayfs',
  0x2fc12fc1: 'zfs',
  0x65735546: 'fuse',
};

export function filesystemOf(path: string): string {
  const magic = statfsSync(path).type;
  return FILESYSTEMS[magic] ?? `filesystem magic 0x${magic.toString(16)}`;
}

export function describeCpu(): string {
  const cpu = cpus();
  return `Node ${process.version}, ${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}`;
}

/** A small seeded PRNG, so every run builds the same workload. */
export function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Linear interpolation between closest ranks. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lower = Math.floor(pos);
  const upper = Math.ceil(pos);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (pos - lower);
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

export function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A TCP port on 127.0.0.1 that was free a moment ago, for a process about to listen on it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Progress goes to stderr so the result table on stdout stays clean. */
export function progressFor(bench: string): (line: string) => void {
  return (line) => process.stderr.write(`[bench ${bench}] ${line}\n`);
}

/**
 * Runs `work` in a fresh temporary folder under `baseDir` and removes it afterwards, also when
 * the run is interrupted (SIGINT/SIGTERM).
 */
export async function withTempRoot<T>(
  baseDir: string,
  prefix: string,
  work: (root: string) => Promise<T>,
): Promise<T> {
  const root = mkdtempSync(join(baseDir, prefix));
  const removeRoot = () => rmSync(root, { recursive: true, force: true });
  const onSignal = (signal: NodeJS.Signals) => {
    removeRoot();
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await work(root);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    removeRoot();
  }
}

/**
 * One request to a server on 127.0.0.1 through `agent`, with a bearer token and a JSON body, a
 * token alone, or neither; resolves with the status and the whole response body.
 */
export function localRequest(
  agent: http.Agent,
  port: number,
  method: 'GET' | 'POST',
  path: string,
  json?: { token: string; body?: Buffer | string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        agent,
        headers: {
          ...(json && { authorization: `Bearer ${json.token}` }),
          ...(json?.body !== undefined && {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(json.body),
          }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(json?.body);
  });
}

/** The most resident memory a process has had so far (Linux's VmHWM), or null elsewhere. */
export function peakRssBytes(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}
