import { JsonLogger, redactSecrets } from './json-logger';
import { requestIdOf } from './request-log';

const TIME = new Date('2026-11-27T12:00:00.000Z');

function capture(levels: ConstructorParameters<typeof JsonLogger>[0] = ['error', 'warn', 'log']) {
  const lines: string[] = [];
  const logger = new JsonLogger(
    levels,
    (line) => lines.push(line),
    () => TIME,
  );
  const entries = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines, entries };
}

describe('JsonLogger', () => {
  it('writes one JSON object per line: time, level, context, message', () => {
    const { logger, lines, entries } = capture();
    logger.log('Listening on http://0.0.0.0:3000', 'Rapidly Webhooks');
    logger.warn('slow');
    expect(lines.every((line) => line.endsWith('\n') && !line.slice(0, -1).includes('\n'))).toBe(
      true,
    );
    expect(entries()).toEqual([
      {
        time: '2026-11-27T12:00:00.000Z',
        level: 'info',
        context: 'Rapidly Webhooks',
        msg: 'Listening on http://0.0.0.0:3000',
      },
      { time: '2026-11-27T12:00:00.000Z', level: 'warn', msg: 'slow' },
    ]);
  });

  it("keeps Nest's error(message, stack, context) apart, spreads object messages, and an Error's stack", () => {
    const { logger, entries } = capture();
    logger.error('Dispatch failed', 'Error: boom\n    at x', 'Dispatcher');
    logger.log({ msg: 'GET /health 200', request_id: 'r-1', status: 200 }, 'HTTP');
    const failure = new Error('kaput');
    logger.error(failure);
    expect(entries()).toEqual([
      expect.objectContaining({
        level: 'error',
        context: 'Dispatcher',
        msg: 'Dispatch failed',
        stack: 'Error: boom\n    at x',
      }),
      expect.objectContaining({ level: 'info', context: 'HTTP', request_id: 'r-1', status: 200 }),
      expect.objectContaining({ level: 'error', msg: 'kaput', stack: failure.stack }),
    ]);
  });

  it('writes only the enabled levels', () => {
    const { logger, entries } = capture(['error']);
    logger.log('not this');
    logger.debug('nor this');
    logger.error('this');
    expect(entries().map((e) => e.msg)).toEqual(['this']);
  });

  it('masks secrets, tokens, bearer credentials and URL passwords wherever they appear', () => {
    const { logger, lines } = capture();
    logger.log('rotated to whsec_c2VjcmV0LXZhbHVlLTEyMzQ1Ng== for e1');
    logger.warn({ msg: 'refused', header: 'Bearer rwh_AbCdEf0123456789_-xyz' });
    logger.error('mongodb://app:hunter2@db:27017/ unreachable');
    const text = lines.join('');
    for (const secret of ['c2VjcmV0LXZhbHVlLTEyMzQ1Ng', 'AbCdEf0123456789', 'hunter2']) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('whsec_[redacted]');
    expect(text).toContain('mongodb://app:[redacted]@db:27017/');
    expect(redactSecrets('Authorization: Bearer abc.def')).toBe('Authorization: Bearer [redacted]');
  });
});

describe('requestIdOf', () => {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

  it("keeps a caller's plain X-Request-Id and makes a UUID otherwise", () => {
    expect(requestIdOf({ headers: { 'x-request-id': 'checkout-42.retry:1' } })).toBe(
      'checkout-42.retry:1',
    );
    expect(requestIdOf({ headers: {} })).toMatch(uuid);
    for (const bad of ['', 'a b', 'x\ny', 'é', 'a'.repeat(129)]) {
      expect(requestIdOf({ headers: { 'x-request-id': bad } })).toMatch(uuid);
    }
    expect(requestIdOf({ headers: { 'x-request-id': ['a', 'b'] as unknown as string } })).toMatch(
      uuid,
    );
  });
});
