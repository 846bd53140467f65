import { ConfigError, loadConfig } from './config';

describe('loadConfig', () => {
  it('has sensible defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 3000, allowPrivateNetworks: false, logLevel: 'log' });
    expect(config.dataDir).toMatch(/data$/);
  });

  it('reads every variable', () => {
    expect(
      loadConfig({
        PORT: '8080',
        DATA_DIR: '/tmp/x',
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
        LOG_LEVEL: 'debug',
      }),
    ).toMatchObject({
      port: 8080,
      dataDir: '/tmp/x',
      allowPrivateNetworks: true,
      logLevel: 'debug',
    });
  });

  it('names every bad value at once', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'maybe', LOG_LEVEL: 'loud' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain('PORT="eighty"');
    expect(message).toContain('WEBHOOK_ALLOW_PRIVATE_NETWORKS="maybe": expected true or false');
    expect(message).toContain('LOG_LEVEL="loud"');
  });

  it('rejects out-of-range ports', () => {
    expect(() => loadConfig({ PORT: '70000' })).toThrow(ConfigError);
  });

  it('reads the delivery settings, with the documented defaults', () => {
    expect(loadConfig({}).delivery).toEqual({
      retrySchedule: [
        5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000,
        86_400_000,
      ],
      timeoutMs: 10_000,
      failureThreshold: 10,
      secretGracePeriodMs: 86_400_000,
      maxInFlight: 256,
    });
    expect(
      loadConfig({
        WEBHOOK_RETRY_SCHEDULE: '100ms,1s,5m,2h',
        WEBHOOK_TIMEOUT_MS: '2500',
        WEBHOOK_FAILURE_THRESHOLD: '3',
        WEBHOOK_SECRET_GRACE_PERIOD: '1s',
        WEBHOOK_MAX_IN_FLIGHT: '8',
      }).delivery,
    ).toEqual({
      retrySchedule: [100, 1000, 300_000, 7_200_000],
      timeoutMs: 2500,
      failureThreshold: 3,
      secretGracePeriodMs: 1000,
      maxInFlight: 8,
    });
  });

  it('explains a bad delivery setting', () => {
    expect(() => loadConfig({ WEBHOOK_RETRY_SCHEDULE: '1s,soon' })).toThrow(
      /WEBHOOK_RETRY_SCHEDULE="1s,soon"/,
    );
    expect(() => loadConfig({ WEBHOOK_TIMEOUT_MS: '0' })).toThrow(
      /WEBHOOK_TIMEOUT_MS="0": expected a positive integer/,
    );
    expect(() => loadConfig({ WEBHOOK_SECRET_GRACE_PERIOD: '24' })).toThrow(
      /WEBHOOK_SECRET_GRACE_PERIOD/,
    );
  });
});
