import { connectionSecrets, describeTarget, redact } from './connection-target';

describe('describeTarget', () => {
  it.each([
    ['esdb://localhost:2113?tls=false', 'esdb://localhost:2113'],
    ['esdb://admin:changeit@localhost:2113?tls=false', 'esdb://localhost:2113'],
    [
      'esdb+discover://admin:s3cret@cluster.example.com:2113',
      'esdb+discover://cluster.example.com:2113',
    ],
    ['esdb://u:p@a:2113,b:2113,c:2113/?nodePreference=leader', 'esdb://a:2113,b:2113,c:2113'],
    ['  esdb://localhost:2113/  ', 'esdb://localhost:2113'],
    // An unencoded "@" or "/" in the password is still treated as part of the credentials.
    ['esdb://admin:pa@ss/word@db:2113', 'esdb://db:2113'],
  ])('shows %j as %j', (connectionString, shown) => {
    expect(describeTarget(connectionString)).toBe(shown);
  });

  it('shows nothing of a string it cannot parse', () => {
    expect(describeTarget('admin:changeit@localhost:2113')).toBe(
      '(an unparseable connection string)',
    );
  });
});

describe('connectionSecrets', () => {
  it('lists the credentials as written and decoded', () => {
    expect(connectionSecrets('esdb://admin:p%40ss@db:2113')).toEqual([
      'admin:p%40ss',
      'p%40ss',
      'p@ss',
    ]);
  });

  it('is empty without credentials', () => {
    expect(connectionSecrets('esdb://db:2113?tls=false')).toEqual([]);
  });
});

describe('redact', () => {
  const connectionString = 'esdb://admin:p%40ss-w0rd@db.internal:2113?tls=false';

  it('replaces the connection string by its description and masks every credential', () => {
    const message = `Unexpected "x" at position 3 of ${connectionString}: user admin:p%40ss-w0rd, p@ss-w0rd`;
    const safe = redact(message, connectionString);
    expect(safe).toContain('esdb://db.internal:2113');
    expect(safe).not.toContain('p%40ss-w0rd');
    expect(safe).not.toContain('p@ss-w0rd');
    expect(safe).toContain('***');
  });

  it('also recognises the string as the client quotes it: trimmed, without trailing slashes', () => {
    const quoted = 'esdb://admin:hunter22@db:2113';
    expect(redact(`bad ${quoted}`, ` ${quoted}/ `)).toBe('bad esdb://db:2113');
  });

  it('leaves a message without secrets as it is', () => {
    expect(redact('connect ECONNREFUSED 10.0.0.1:2113', connectionString)).toBe(
      'connect ECONNREFUSED 10.0.0.1:2113',
    );
  });
});
