/**
 * Benchmark dispatcher: `npm run bench -- <name> [options]` (the `prebench` script builds first).
 * Each benchmark resolves to the process exit code: 0 when it meets its target, 1 when it does not.
 */
import { runDeliveryBench } from './delivery';
import { runEventStoreBench } from './eventstore';
import { runQueryBench } from './query';
import { runReplayBench } from './replay';

interface Benchmark {
  summary: string;
  run(args: readonly string[]): Promise<number>;
}

const BENCHMARKS: Record<string, Benchmark> = {
  eventstore: {
    summary:
      'append throughput of the SQLite event store (single and group-committed) vs a raw better-sqlite3 loop',
    run: runEventStoreBench,
  },
  delivery: {
    summary:
      'deliveries/s of the service (publish API to receipt) vs a plain sign-and-POST loop, and publish-to-receipt latency at 500 events/s',
    run: runDeliveryBench,
  },
  query: {
    summary:
      'p50/p99 of GET /deliveries on 1,000,000 deliveries, every filter alone and combined, deep pages included',
    run: runQueryBench,
  },
  replay: {
    summary:
      'events/s and peak RSS of a full read-model rebuild (CLI replay) over a synthetic log of 1,000,000 events',
    run: runReplayBench,
  },
};

function usage(): string {
  const names = Object.entries(BENCHMARKS)
    .map(([name, bench]) => `  ${name.padEnd(12)} ${bench.summary}`)
    .join('\n');
  return `Usage: npm run bench -- <name> [options]\n\nBenchmarks:\n${names}\n`;
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return 0;
  }
  const bench =
    name !== undefined && Object.hasOwn(BENCHMARKS, name) ? BENCHMARKS[name] : undefined;
  if (!bench) {
    if (name !== undefined) process.stderr.write(`Unknown benchmark: ${name}\n\n`);
    process.stderr.write(usage());
    return 2;
  }
  return bench.run(args);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(
      'Benchmark failed:',
      error instanceof Error ? (error.stack ?? error.message) : error,
    );
    process.exitCode = 1;
  },
);
