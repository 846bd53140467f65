import { mongoHosts, withoutCredentials } from './mongo-uri';

describe('MongoDB URI in messages', () => {
  it('shows the scheme and hosts only', () => {
    expect(mongoHosts('mongodb://user:s3cret@db1:27017,db2:27018/app?replicaSet=rs0')).toBe(
      'mongodb://db1:27017,db2:27018',
    );
    expect(mongoHosts('mongodb+srv://u:p%40ss@cluster0.example.net/?authSource=admin')).toBe(
      'mongodb+srv://cluster0.example.net',
    );
    expect(mongoHosts('mongodb://localhost')).toBe('mongodb://localhost');
    expect(mongoHosts('postgres://u:p@h')).toBe('an invalid MongoDB URI');
  });

  it('removes the URI, the user info and the password (raw or decoded) from any message', () => {
    const uri = 'mongodb://alice:p%40ss-w0rd@db:27017/app';
    const message = `failed for ${uri}; user alice:p%40ss-w0rd; password p@ss-w0rd / p%40ss-w0rd`;
    const cleaned = withoutCredentials(message, uri);
    expect(cleaned).not.toMatch(/p%40ss|p@ss/);
    expect(cleaned).toBe('failed for ***; user ***; password *** / ***');
    expect(withoutCredentials('connect ECONNREFUSED 127.0.0.1:27017', 'mongodb://db')).toBe(
      'connect ECONNREFUSED 127.0.0.1:27017',
    );
  });
});
