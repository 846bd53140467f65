import { maskCredentials } from './connection-strings';

describe('connection strings', () => {
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
