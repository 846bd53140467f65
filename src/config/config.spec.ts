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
});
