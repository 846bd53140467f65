import { connectionTarget, maskCredentials, scrubCredentials } from './connection-strings';

describe('maskCredentials', () => {
  it('masks the password and keeps the user, hosts and options', () => {
    expect(maskCredentials('mongodb://app:s%40cret@a:27017,b:27017/db?replicaSet=rs0')).toBe(
      'mongodb://app:***@a:27017,b:27017/db?replicaSet=rs0',
    );
    expect(maskCredentials('esdb://admin:changeit@es:2113?tls=false')).toBe(
      'esdb://admin:***@es:2113?tls=false',
    );
  });

  it('masks a user info without a colon whole: it may be a token', () => {
    expect(maskCredentials('mongodb://tok3n@db')).toBe('mongodb://***@db');
  });

  it('leaves a connection string without credentials as it is', () => {
    const value = 'mongodb://db:27017/?serverSelectionTimeoutMS=500';
    expect(maskCredentials(value)).toBe(value);
  });

  it('masks a password holding unescaped "@", "/" or "?" up to the last "@"', () => {
    for (const value of [
      'mongodb://app:p@ss@db/x',
      'mongodb://app:pa/ss@db/x',
      'mongodb://app:pa?ss@db/x',
    ]) {
      expect(maskCredentials(value)).toBe('mongodb://app:***@db/x');
    }
  });

  it('masks everything before the last "@" of a value without a scheme', () => {
    expect(maskCredentials('app:hunter2@db:27017')).toBe('***@db:27017');
  });
});

describe('connectionTarget', () => {
  it.each([
    ['esdb://localhost:2113?tls=false', 'esdb://localhost:2113'],
    ['esdb://admin:changeit@localhost:2113?tls=false', 'esdb://localhost:2113'],
    [
      'esdb+discover://admin:s3cret@cluster.example.com:2113',
      'esdb+discover://cluster.example.com:2113',
    ],
    ['esdb://u:p@a:2113,b:2113,c:2113/?nodePreference=leader', 'esdb://a:2113,b:2113,c:2113'],
    ['  esdb://localhost:2113/  ', 'esdb://localhost:2113'],
    [
      'mongodb://user:s3cret@db1:27017,db2:27018/app?replicaSet=rs0',
      'mongodb://db1:27017,db2:27018',
    ],
    [
      'mongodb+srv://u:p%40ss@cluster0.example.net/?authSource=admin',
      'mongodb+srv://cluster0.example.net',
    ],
    ['mongodb://localhost', 'mongodb://localhost'],
    // An unencoded "@", "/" or "#" in the password is still treated as part of the credentials.
    ['esdb://admin:pa@ss/word@db:2113', 'esdb://db:2113'],
    ['mongodb://app:p#ss@db/app', 'mongodb://db'],
  ])('shows %j as %j: the scheme and hosts only', (connectionString, shown) => {
    expect(connectionTarget(connectionString)).toBe(shown);
  });

  it('shows nothing of a string it cannot parse', () => {
    expect(connectionTarget('admin:changeit@localhost:2113')).toBe(
      '(an unparseable connection string)',
    );
  });
});

describe('scrubCredentials', () => {
  const connectionString = 'esdb://admin:p%40ss-w0rd@db.internal:2113?tls=false';

  it('replaces the connection string by its target and masks every credential, raw or decoded', () => {
    const message =
      `Unexpected "x" at position 3 of ${connectionString}: ` +
      'user admin:p%40ss-w0rd, password p@ss-w0rd / p%40ss-w0rd';
    expect(scrubCredentials(message, connectionString)).toBe(
      'Unexpected "x" at position 3 of esdb://db.internal:2113: user ***, password *** / ***',
    );
  });

  it('also recognises the string as a driver quotes it: trimmed, without trailing slashes', () => {
    const quoted = 'esdb://admin:hunter22@db:2113';
    expect(scrubCredentials(`bad ${quoted}`, ` ${quoted}/ `)).toBe('bad esdb://db:2113');
  });

  it('masks a token given as a user info without a colon', () => {
    const uri = 'mongodb://t0k3n-value@db/app';
    expect(scrubCredentials('auth failed for t0k3n-value', uri)).toBe('auth failed for ***');
  });

  it('masks the credentials of a value without a scheme', () => {
    expect(scrubCredentials('cannot parse admin:hunter2', 'admin:hunter2@db:2113')).toBe(
      'cannot parse ***',
    );
  });

  it('leaves a message without secrets as it is', () => {
    expect(scrubCredentials('connect ECONNREFUSED 10.0.0.1:2113', connectionString)).toBe(
      'connect ECONNREFUSED 10.0.0.1:2113',
    );
    expect(scrubCredentials('connect ECONNREFUSED 127.0.0.1:27017', 'mongodb://db')).toBe(
      'connect ECONNREFUSED 127.0.0.1:27017',
    );
  });
});
