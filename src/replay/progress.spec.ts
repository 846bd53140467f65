import { ProgressBar, duration, formatProgress } from './progress';

describe('formatProgress', () => {
  it('shows the bar, share, counts, rate and time left', () => {
    expect(formatProgress({ applied: 250_000, total: 1_000_000 }, 5_000)).toBe(
      '[######..................]   25%  250,000/1,000,000 events  50,000 events/s  ETA 15s',
    );
  });

  it('drops the ETA once done, and copes with an empty log', () => {
    expect(formatProgress({ applied: 10, total: 10 }, 1_000)).toBe(
      '[########################]  100%  10/10 events  10 events/s',
    );
    expect(formatProgress({ applied: 0, total: 0 }, 0)).toBe(
      '[########################]  100%  0/0 events  0 events/s',
    );
  });

  it('names the stage in place of the time left once the events are applied', () => {
    expect(formatProgress({ applied: 10, total: 10, stage: 'indexing deliveries' }, 1_000)).toBe(
      '[########################]  100%  10/10 events  10 events/s  indexing deliveries',
    );
  });

  it('writes minutes past 60 s', () => {
    expect(duration(125)).toBe('2m05s');
    expect(duration(0.2)).toBe('1s');
  });
});

describe('ProgressBar', () => {
  it('redraws in place on a terminal, at most every 100 ms, and ends the line', () => {
    let now = 0;
    const written: string[] = [];
    const bar = new ProgressBar({ isTTY: true, write: (t: string) => written.push(t) }, () => now);
    bar.update({ applied: 1, total: 4 });
    now = 50;
    bar.update({ applied: 2, total: 4 });
    now = 150;
    bar.update({ applied: 3, total: 4 });
    bar.finish();
    bar.finish();
    expect(written.filter((t) => t.startsWith('\r'))).toHaveLength(3);
    expect(written[written.length - 1]).toBe('\n');
    expect(written[written.length - 2]).toContain('3/4 events');
  });

  it('writes plain lines every few seconds into a file or a pipe', () => {
    let now = 0;
    const written: string[] = [];
    const bar = new ProgressBar({ write: (t: string) => written.push(t) }, () => now);
    for (now = 0; now <= 12_000; now += 1_000) bar.update({ applied: now, total: 12_000 });
    bar.finish();
    expect(written.every((t) => t.endsWith('\n') && !t.includes('\r'))).toBe(true);
    expect(written).toHaveLength(4);
  });

  it('draws a new stage at once, however recent the last line', () => {
    let now = 0;
    const written: string[] = [];
    const bar = new ProgressBar({ write: (t: string) => written.push(t) }, () => now);
    bar.update({ applied: 4, total: 4 });
    now = 10;
    bar.update({ applied: 4, total: 4, stage: 'indexing deliveries' });
    bar.update({ applied: 4, total: 4, stage: 'indexing deliveries' });
    now = 20;
    bar.update({ applied: 4, total: 4, stage: 'indexing webhook_events' });
    expect(written).toHaveLength(3);
    expect(written[2]).toContain('indexing webhook_events');
  });
});
