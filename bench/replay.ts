/**
 * `npm run bench -- replay`: a full rebuild of the read models by the CLI's `replay`, on a log
 * of 1,000,000 events of a realistic mix (bench/support/synthetic-log.ts), timed in events/s,
 * with the CLI process's peak RSS. Baseline, same process, same file: reading and parsing the
 * whole log and nothing else. See bench/README.md.
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DATABASE_FILE } from '../src/eventstore/sqlite/sqlite-database';
import { describeCpu, filesystemOf, fmt, median, peakRssBytes, progressFor } from './support';
import { SYNTHETIC_LOG_VERSION, writeSyntheticLog } from './support/synthetic-log';

const DEFAULT_EVENTS = 1_000_000;
const TARGET_EVENTS_PER_S = 50_000;
const TARGET_RSS_MB = 500;
const CLI = join(__dirname, '..', 'src', 'cli.js');
const progress = progressFor('replay');

interface Options {
  events: number;
  runs: number;
  fresh: boolean;
  dataDir: string;
}

function parseArgs(args: readonly string[]): Options {
  let events = DEFAULT_EVENTS;
  let runs = 3;
  let fresh = false;
  let dataDir: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--events') events = wholeNumber(arg, value());
    else if (arg === '--runs') runs = wholeNumber(arg, value());
    else if (arg === '--data-dir') dataDir = value();
    else if (arg === '--fresh') fresh = true;
    else throw new Error(`Unknown option ${arg} (--events N, --runs N, --data-dir DIR, --fresh)`);
  }
  return {
    events,
    runs,
    fresh,
    dataDir: dataDir ?? join(tmpdir(), `rapidly-bench-replay-${events}-v${SYNTHETIC_LOG_VERSION}`),
  };
}

function wholeNumber(flag: string, value: string): number {
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${flag} needs a whole number > 0`);
  return n;
}

/** The log, generated once per size and kept (a marker file says it is complete). */
async function ensureLog(options: Options): Promise<number> {
  const marker = join(options.dataDir, 'synthetic-log.json');
  if (options.fresh || !existsSync(marker)) {
    rmSync(options.dataDir, { recursive: true, force: true });
    mkdirSync(options.dataDir, { recursive: true });
    progress(`writing a synthetic log of ${fmt(options.events)} events into ${options.dataDir}`);
    const log = await writeSyntheticLog(options.dataDir, {
      events: options.events,
      onProgress: (p) =>
        progress(
          `  ${fmt(p.events)} events (${Math.floor(p.fraction * 100)}%), ${(p.elapsedMs / 1000).toFixed(0)} s`,
        ),
    });
    writeFileSync(marker, JSON.stringify({ head: log.head, counts: log.counts }, null, 2));
    progress(`log written in ${log.seconds.toFixed(1)} s: ${JSON.stringify(log.counts)}`);
  } else {
    progress(`reusing the log in ${options.dataDir} (--fresh to write it again)`);
  }
  return (JSON.parse(readFileSync(marker, 'utf8')) as { head: number }).head;
}

/** Baseline: every event read back in log order and its JSON parsed, as a replay reads them. */
function readWholeLog(dataDir: string): { events: number; ms: number } {
  const db = new Database(join(dataDir, DATABASE_FILE), { readonly: true });
  try {
    const started = performance.now();
    let events = 0;
    const rows = db
      .prepare<[], { data: string; metadata: string }>(
        'SELECT position, stream_id, revision, type, data, metadata, recorded_at FROM events ORDER BY position',
      )
      .iterate();
    for (const row of rows) {
      JSON.parse(row.data);
      JSON.parse(row.metadata);
      events++;
    }
    return { events, ms: performance.now() - started };
  } finally {
    db.close();
  }
}

interface ReplayRun {
  events: number;
  rebuildSeconds: number;
  eventsPerSecond: number;
  cleanupSeconds: number;
  wallSeconds: number;
  peakRssMb: number;
}

/** Peak resident set of a process so far (VmHWM), in MB; 0 once it is gone. */
function peakRssMb(pid: number): number {
  return (peakRssBytes(pid) ?? 0) / 2 ** 20;
}

/** `node dist/src/cli.js replay` on the data directory, watched for its peak RSS. */
function runReplay(dataDir: string, verify = false): Promise<ReplayRun & { stdout: string }> {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, 'replay', ...(verify ? ['--verify'] : [])], {
    env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let peak = 0;
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  // VmHWM is the peak so far, gone with the process: the last sample before it exits holds it.
  const sampler = setInterval(() => (peak = Math.max(peak, peakRssMb(child.pid!))), 20);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearInterval(sampler);
      const wallSeconds = (performance.now() - started) / 1000;
      if (code !== 0 && !(verify && code === 1)) {
        reject(new Error(`replay exited with ${code}:\n${stdout}${stderr}`));
        return;
      }
      const replayed =
        /(?:Replayed|Rebuilt) ([\d,]+) events in ([\d.]+) s, ([\d,]+) events\/s/.exec(stdout);
      const cleanup = /removed in ([\d.]+) s/.exec(stdout);
      if (!replayed) {
        reject(new Error(`No summary in the replay's output:\n${stdout}${stderr}`));
        return;
      }
      const num = (s: string) => Number(s.replace(/,/g, ''));
      resolve({
        events: num(replayed[1]),
        rebuildSeconds: Number(replayed[2]),
        eventsPerSecond: num(replayed[3]),
        cleanupSeconds: cleanup ? Number(cleanup[1]) : 0,
        wallSeconds,
        peakRssMb: peak,
        stdout,
      });
    });
  });
}

export async function runReplayBench(args: readonly string[]): Promise<number> {
  const options = parseArgs(args);
  const head = await ensureLog(options);
  progress(`baseline: reading and parsing the whole log`);
  const baseline = readWholeLog(options.dataDir);
  const baselineRate = (baseline.events * 1000) / baseline.ms;

  const runs: ReplayRun[] = [];
  for (let run = 1; run <= options.runs; run++) {
    // Run 1 builds over empty read models (or a previous bench's); later runs replace full ones.
    progress(`replay run ${run}/${options.runs}`);
    const result = await runReplay(options.dataDir);
    runs.push(result);
    progress(
      `  ${fmt(result.events)} events in ${result.rebuildSeconds.toFixed(1)} s: ${fmt(result.eventsPerSecond)} events/s, ` +
        `cleanup ${result.cleanupSeconds.toFixed(1)} s, peak RSS ${result.peakRssMb.toFixed(0)} MB`,
    );
  }
  progress('replay --verify (for the record, not a target)');
  const verify = await runReplay(options.dataDir, true);

  const rate = median(runs.map((r) => r.eventsPerSecond));
  const rss = Math.max(...runs.map((r) => r.peakRssMb));
  const rateOk = rate >= TARGET_EVENTS_PER_S;
  const rssOk = rss <= TARGET_RSS_MB;
  const line = (label: string, value: string) => `  ${label.padEnd(44)} ${value}`;
  console.log(`Replay benchmark (${describeCpu()}; ${filesystemOf(options.dataDir)})`);
  console.log(line('log', `${fmt(head)} events in ${options.dataDir}`));
  console.log(
    line(
      'baseline: read + parse the whole log',
      `${(baseline.ms / 1000).toFixed(1)} s, ${fmt(baselineRate)} events/s`,
    ),
  );
  runs.forEach((r, i) =>
    console.log(
      line(
        `replay run ${i + 1}: rebuild + switch`,
        `${r.rebuildSeconds.toFixed(1)} s, ${fmt(r.eventsPerSecond)} events/s ` +
          `(${(r.eventsPerSecond / baselineRate).toFixed(2)} x baseline); cleanup ${r.cleanupSeconds.toFixed(1)} s; ` +
          `whole command ${r.wallSeconds.toFixed(1)} s; peak RSS ${r.peakRssMb.toFixed(0)} MB`,
      ),
    ),
  );
  console.log(
    line(
      'replay --verify: rebuild + compare',
      `${verify.wallSeconds.toFixed(1)} s (${fmt(verify.eventsPerSecond)} events/s rebuilt), peak RSS ${verify.peakRssMb.toFixed(0)} MB`,
    ),
  );
  console.log(
    line(
      `events/s (median of ${runs.length}; target >= ${fmt(TARGET_EVENTS_PER_S)})`,
      `${fmt(rate)}  ${rateOk ? 'PASS' : 'FAIL'}`,
    ),
  );
  console.log(
    line(
      `peak RSS (max of ${runs.length}; target <= ${TARGET_RSS_MB} MB)`,
      `${rss.toFixed(0)} MB  ${rssOk ? 'PASS' : 'FAIL'}`,
    ),
  );
  return rateOk && rssOk ? 0 : 1;
}
