import { ReplayProgress } from './read-model-replay';

const WIDTH = 24;

/**
 * One line of progress: a bar, the share done, the counts, the rate and the time left, e.g.
 * `[##########..............]  42%  420,000/1,000,000 events  61,200 events/s  ETA 9s`.
 * Pure: `elapsedMs` is the time since the start.
 */
export function formatProgress(
  { applied, total, stage }: ReplayProgress,
  elapsedMs: number,
): string {
  const share = total > 0 ? Math.min(1, applied / total) : 1;
  const filled = Math.round(share * WIDTH);
  const rate = elapsedMs > 0 ? (applied * 1000) / elapsedMs : 0;
  const eta =
    stage !== undefined
      ? stage
      : rate > 0 && applied < total
        ? `ETA ${duration((total - applied) / rate)}`
        : '';
  return [
    `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}]`,
    `${String(Math.floor(share * 100)).padStart(3)}%`,
    `${count(applied)}/${count(total)} events`,
    `${count(Math.round(rate))} events/s`,
    eta,
  ]
    .filter((part) => part !== '')
    .join('  ');
}

/** Whole seconds under a minute, then minutes and seconds: `9s`, `2m05s`. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s}s`;
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

interface Output {
  isTTY?: boolean;
  write(text: string): unknown;
}

/**
 * Draws the progress line on a terminal (redrawn in place, at most 10 times a second) or, when
 * the output is a file or a pipe, writes it as a plain line every few seconds, so a log keeps a
 * record without a line per batch.
 */
export class ProgressBar {
  private readonly started: number;
  private lastDrawn = 0;
  private drawnOnce = false;
  private finished = false;
  private last: ReplayProgress = { applied: 0, total: 0 };

  constructor(
    private readonly output: Output = process.stderr,
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
  }

  update(progress: ReplayProgress): void {
    if (this.finished) return;
    const previous = this.last;
    this.last = progress;
    const now = this.now();
    const every = this.output.isTTY ? 100 : 5_000;
    const newStage = progress.stage !== previous.stage;
    if (this.drawnOnce && now - this.lastDrawn < every && !newStage) return;
    this.draw(now);
  }

  /** Draws the final state and ends the line (once: later calls and updates do nothing). */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.draw(this.now());
    if (this.output.isTTY) this.output.write('\n');
  }

  private draw(now: number): void {
    this.lastDrawn = now;
    this.drawnOnce = true;
    const line = formatProgress(this.last, now - this.started);
    this.output.write(this.output.isTTY ? `\r\x1b[2K${line}` : `${line}\n`);
  }
}
