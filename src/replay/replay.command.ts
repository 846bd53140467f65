import { UsageError } from '../common/usage-error';
import { loadConfig } from '../config/config';
import { openEngine } from '../engine/engine';
import { ProgressBar } from './progress';
import { describeDifference, replayReport, verifyReport } from './replay-report';

export const DEFAULT_LIMIT = 1000;

/**
 * `replay` and `replay --verify`, on the storage the service's variables name. Progress goes to
 * stderr; the differences and the summary to stdout. Exit code: 0 done (no drift), 1 drift.
 */
export async function replayCommand(options: Record<string, string>): Promise<number> {
  for (const name of Object.keys(options)) {
    if (!['verify', 'limit', 'threads'].includes(name)) {
      throw new UsageError(`Unknown option --${name}`);
    }
  }
  const verify = options.verify !== undefined;
  if (!verify && options.limit !== undefined) throw new UsageError('--limit goes with --verify');
  if (verify && options.threads !== undefined) throw new UsageError('--threads goes with replay');
  const threads = options.threads === undefined ? undefined : Number(options.threads);
  if (threads !== undefined && threads !== 1 && threads !== 2) {
    throw new UsageError(`--threads needs 1 or 2, not "${options.threads}"`);
  }
  const limit = options.limit === undefined ? DEFAULT_LIMIT : Number(options.limit);
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new UsageError(`--limit needs a whole number of differences, not "${options.limit}"`);
  }
  const engine = await openEngine(loadConfig());
  try {
    const bar = new ProgressBar();
    const started = Date.now();
    if (!verify) {
      process.stderr.write(
        `Replaying the event log into fresh read models (${engine.description})\n`,
      );
      const summary = await engine.replay.replay((p) => bar.update(p), { threads });
      bar.finish();
      console.log(replayReport(summary));
      return 0;
    }
    process.stderr.write(
      `Rebuilding the read models into scratch storage to compare (${engine.description})\n`,
    );
    let printed = 0;
    const summary = await engine.replay.verify(
      (p) => bar.update(p),
      (difference) => {
        bar.finish();
        if (printed >= limit) return;
        printed++;
        console.log(describeDifference(difference));
      },
    );
    bar.finish();
    console.log(verifyReport(summary, Date.now() - started, printed));
    return summary.differences === 0 ? 0 : 1;
  } finally {
    await engine.close();
  }
}
