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

  it('reads the log format: json by default, or text', () => {
    expect(loadConfig({}).logFormat).toBe('json');
    expect(loadConfig({ LOG_FORMAT: 'TEXT' }).logFormat).toBe('text');
    expect(() => loadConfig({ LOG_FORMAT: 'yaml' })).toThrow(
      'LOG_FORMAT="yaml": expected one of json, text',
    );
  });

  it('reads the retention settings: days (fractions allowed, 0 keeps forever) and the check interval', () => {
    expect(loadConfig({}).retention).toEqual({
      eventRetentionMs: 30 * 24 * 3600_000,
      checkIntervalMs: 3600_000,
    });
    expect(
      loadConfig({ WEBHOOK_EVENT_RETENTION_DAYS: '0.5', WEBHOOK_RETENTION_CHECK_INTERVAL: '10m' })
        .retention,
    ).toEqual({ eventRetentionMs: 12 * 3600_000, checkIntervalMs: 600_000 });
    expect(loadConfig({ WEBHOOK_EVENT_RETENTION_DAYS: '0' }).retention.eventRetentionMs).toBeNull();
    for (const bad of ['-1', 'thirty', '1e3', '30d']) {
      expect(() => loadConfig({ WEBHOOK_EVENT_RETENTION_DAYS: bad })).toThrow(
        `WEBHOOK_EVENT_RETENTION_DAYS=${JSON.stringify(bad)}: expected a number of days, e.g. 30 or 0.5 (0 keeps payloads forever)`,
      );
    }
    expect(() => loadConfig({ WEBHOOK_RETENTION_CHECK_INTERVAL: '0s' })).toThrow(
      'WEBHOOK_RETENTION_CHECK_INTERVAL="0s": expected a duration above 0, e.g. "1h"',
    );
    expect(() => loadConfig({ WEBHOOK_RETENTION_CHECK_INTERVAL: 'hourly' })).toThrow(
      /WEBHOOK_RETENTION_CHECK_INTERVAL="hourly": Invalid duration/,
    );
  });

  it('reads the readiness lag threshold, 1000 events by default', () => {
    expect(loadConfig({}).operations).toEqual({ readyMaxLag: 1000 });
    expect(loadConfig({ WEBHOOK_READY_MAX_LAG: '0' }).operations).toEqual({ readyMaxLag: 0 });
    expect(loadConfig({ WEBHOOK_READY_MAX_LAG: '250' }).operations).toEqual({ readyMaxLag: 250 });
  });

  it.each(['-1', '1.5', 'lots', '1e3', '99999999999999999999'])(
    'explains a bad readiness lag threshold (%s)',
    (raw) => {
      expect(() => loadConfig({ WEBHOOK_READY_MAX_LAG: raw })).toThrow(
        `WEBHOOK_READY_MAX_LAG=${JSON.stringify(raw)}: expected an integer of 0 or more`,
      );
    },
  );

  describe('engines', () => {
    const problems = (env: Record<string, string>): string => {
      try {
        loadConfig(env);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).message;
      }
      throw new Error('loadConfig accepted the configuration');
    };

    it('uses the embedded engine when neither server is configured', () => {
      expect(loadConfig({}).engines).toEqual({ eventStoreDb: null, mongoDb: null });
    });

    it('reads MongoDB alone, with the default database', () => {
      expect(
        loadConfig({ MONGODB_URI: 'mongodb://db.internal:27017/?replicaSet=rs0' }).engines,
      ).toEqual({
        eventStoreDb: null,
        mongoDb: {
          uri: 'mongodb://db.internal:27017/?replicaSet=rs0',
          database: 'rapidly_webhooks',
        },
      });
    });

    it('reads EventStoreDB with MongoDB, a stream prefix and a database', () => {
      expect(
        loadConfig({
          EVENTSTORE_CONNECTION_STRING: 'esdb://es1:2113,es2:2113?tls=false',
          EVENTSTORE_STREAM_PREFIX: 'eu-1.',
          MONGODB_URI: 'mongodb+srv://app:s%40cret@cluster0.example.net/?retryWrites=true',
          MONGODB_DATABASE: 'webhooks_eu',
        }).engines,
      ).toEqual({
        eventStoreDb: {
          connectionString: 'esdb://es1:2113,es2:2113?tls=false',
          streamPrefix: 'eu-1.',
        },
        mongoDb: {
          uri: 'mongodb+srv://app:s%40cret@cluster0.example.net/?retryWrites=true',
          database: 'webhooks_eu',
        },
      });
    });

    it('refuses EventStoreDB without MongoDB, saying why and what to do', () => {
      const message = problems({ EVENTSTORE_CONNECTION_STRING: 'esdb://localhost:2113?tls=false' });
      expect(message).toContain('EVENTSTORE_CONNECTION_STRING is set but MONGODB_URI is not');
      expect(message).toContain('set MONGODB_URI too');
    });

    it('refuses the companion variables without their engine', () => {
      const message = problems({ EVENTSTORE_STREAM_PREFIX: 'a', MONGODB_DATABASE: 'b' });
      expect(message).toContain(
        'EVENTSTORE_STREAM_PREFIX is set but EVENTSTORE_CONNECTION_STRING is not',
      );
      expect(message).toContain('MONGODB_DATABASE is set but MONGODB_URI is not');
    });

    it('names a MONGODB_URI that is not a MongoDB connection string, without its password', () => {
      const message = problems({ MONGODB_URI: 'postgres://app:hunter2@db:5432/x' });
      expect(message).toContain(
        'MONGODB_URI="postgres://app:***@db:5432/x": expected a mongodb:// or mongodb+srv:// connection string',
      );
      expect(message).not.toContain('hunter2');
    });

    it.each([
      ['mongodb://', 'no host after mongodb://'],
      ['mongodb://db:70000', 'port 70000 of "db:70000" is not between 1 and 65535'],
      ['mongodb://db host', '"db host" is not a host name or host:port'],
      ['mongodb+srv://a.example.net:27017', 'names exactly one host and no port'],
      ['mongodb://app:p@ss@db', 'must be percent-encoded'],
      ['mongodb://app:a:b@db', 'a ":" in the password must be percent-encoded as %3A'],
    ])('explains the MONGODB_URI %s', (uri, explanation) => {
      const message = problems({ MONGODB_URI: uri });
      expect(message).toContain('MONGODB_URI=');
      expect(message).toContain(explanation);
      expect(message).not.toMatch(/p@ss|a:b@/);
    });

    it('names an EVENTSTORE_CONNECTION_STRING that is not esdb://, without its password', () => {
      const message = problems({
        EVENTSTORE_CONNECTION_STRING: 'https://admin:changeit@es:2113',
        MONGODB_URI: 'mongodb://db',
      });
      expect(message).toContain(
        'EVENTSTORE_CONNECTION_STRING="https://admin:***@es:2113": expected an esdb:// or esdb+discover:// connection string',
      );
      expect(message).not.toContain('changeit');
    });

    it.each([
      ['esdb://', 'no host after esdb://'],
      ['esdb://es:2113?tls', 'options must follow the hosts as ?key=value'],
      ['esdb://admin@es:2113', 'credentials must be given as user:password@'],
      ['esdb+discover://es:0', 'port 0 of "es:0" is not between 1 and 65535'],
      [
        'esdb://es:2113?tls=false&throwOnAppendFailure=false',
        'throwOnAppendFailure=false is not supported',
      ],
    ])('explains the EVENTSTORE_CONNECTION_STRING %s', (connectionString, explanation) => {
      const message = problems({
        EVENTSTORE_CONNECTION_STRING: connectionString,
        MONGODB_URI: 'mongodb://db',
      });
      expect(message).toContain(explanation);
    });

    it('accepts the connection strings EventStoreDB documents', () => {
      for (const connectionString of [
        'esdb://localhost:2113?tls=false',
        'esdb://admin:changeit@es1:2113,es2:2113,es3:2113?tls=true&nodePreference=leader',
        'esdb+discover://cluster.example.com:2113/',
      ]) {
        expect(
          loadConfig({
            EVENTSTORE_CONNECTION_STRING: connectionString,
            MONGODB_URI: 'mongodb://db',
          }).engines.eventStoreDb?.connectionString,
        ).toBe(connectionString);
      }
    });

    it('checks the stream prefix and the database name', () => {
      const message = problems({
        EVENTSTORE_CONNECTION_STRING: 'esdb://es:2113?tls=false',
        EVENTSTORE_STREAM_PREFIX: '$system',
        MONGODB_URI: 'mongodb://db',
        MONGODB_DATABASE: 'rapidly.webhooks',
      });
      expect(message).toContain('EVENTSTORE_STREAM_PREFIX="$system": expected 1 to 64 letters');
      expect(message).toContain(
        'MONGODB_DATABASE="rapidly.webhooks": a MongoDB database name cannot contain',
      );
    });
  });
});
