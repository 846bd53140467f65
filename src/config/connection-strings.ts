/**
 * Connection strings of the production engines: checked at start with messages that name the
 * mistake, and shown in logs and errors with their credentials masked.
 */

export type Checked = { value: string } | { error: string };

interface Parts {
  scheme: string;
  /** `user:password` (still percent-encoded), or undefined when there are none. */
  userInfo: string | undefined;
  /** The comma-separated host list, e.g. `a:27017,b:27017`. */
  hosts: string;
  /** Whatever follows the hosts: `/database?options`. */
  rest: string;
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;

/**
 * Splits `scheme://[userinfo@]hosts[/path][?query]`. The user info ends at the last `@`, so a
 * password with a stray `@`, `/` or `?` is still counted as credentials (and masked), never
 * shown as a host.
 */
function split(value: string): Parts | undefined {
  const scheme = SCHEME.exec(value);
  if (!scheme) return undefined;
  const afterScheme = value.slice(scheme[0].length);
  const at = afterScheme.lastIndexOf('@');
  const userInfo = at >= 0 ? afterScheme.slice(0, at) : undefined;
  const authority = at >= 0 ? afterScheme.slice(at + 1) : afterScheme;
  const end = authority.search(/[/?]/);
  return {
    scheme: scheme[1].toLowerCase(),
    userInfo,
    hosts: end >= 0 ? authority.slice(0, end) : authority,
    rest: end >= 0 ? authority.slice(end) : '',
  };
}

/**
 * The connection string with its password (or a user info without a colon, which may be a
 * token) replaced by `***`; safe to print. A value without a scheme has everything up to its
 * last `@` masked.
 */
export function maskCredentials(value: string): string {
  const parts = split(value);
  if (!parts) {
    const at = value.lastIndexOf('@');
    return at >= 0 ? `***${value.slice(at)}` : value;
  }
  if (parts.userInfo === undefined) return value;
  const colon = parts.userInfo.indexOf(':');
  const user = colon >= 0 ? `${parts.userInfo.slice(0, colon)}:***` : '***';
  return `${parts.scheme}://${user}@${parts.hosts}${parts.rest}`;
}

/** Characters that must be percent-encoded inside a user name or password. */
const UNESCAPED_IN_USER_INFO = /[@/?#[\]]/;

function checkUserInfo(userInfo: string | undefined): string | undefined {
  if (userInfo === undefined) return undefined;
  const colon = userInfo.indexOf(':');
  const user = colon >= 0 ? userInfo.slice(0, colon) : userInfo;
  const password = colon >= 0 ? userInfo.slice(colon + 1) : '';
  if (UNESCAPED_IN_USER_INFO.test(user) || UNESCAPED_IN_USER_INFO.test(password)) {
    return 'the user name and password must be percent-encoded (e.g. "@" as %40, "/" as %2F)';
  }
  if (password.includes(':')) return 'a ":" in the password must be percent-encoded as %3A';
  return undefined;
}

/** `host[:port]`, with a port between 1 and 65535 when given; brackets for IPv6 literals. */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.%-]+)(?::(\d{1,5}))?$/;

function checkHosts(hosts: string, scheme: string): string | undefined {
  if (hosts === '') return `no host after ${scheme}://`;
  for (const host of hosts.split(',')) {
    const match = HOST.exec(host);
    if (!match) return `"${host}" is not a host name or host:port`;
    const port = match[1] === undefined ? undefined : Number(match[1]);
    if (port !== undefined && (port < 1 || port > 65535)) {
      return `port ${port} of "${host}" is not between 1 and 65535`;
    }
  }
  return undefined;
}

/** A MongoDB connection string: `mongodb://` or `mongodb+srv://` with at least one host. */
export function checkMongoUri(value: string): Checked {
  const parts = split(value);
  if (!parts || (parts.scheme !== 'mongodb' && parts.scheme !== 'mongodb+srv')) {
    return { error: 'expected a mongodb:// or mongodb+srv:// connection string' };
  }
  const problem =
    checkUserInfo(parts.userInfo) ??
    checkHosts(parts.hosts, parts.scheme) ??
    (parts.scheme === 'mongodb+srv' && /[,:]/.test(parts.hosts)
      ? 'a mongodb+srv:// connection string names exactly one host and no port'
      : undefined);
  return problem ? { error: problem } : { value };
}

/** An EventStoreDB connection string: `esdb://` or `esdb+discover://` with at least one host. */
export function checkEventStoreConnectionString(value: string): Checked {
  const parts = split(value);
  if (!parts || (parts.scheme !== 'esdb' && parts.scheme !== 'esdb+discover')) {
    return { error: 'expected an esdb:// or esdb+discover:// connection string' };
  }
  const problem =
    checkUserInfo(parts.userInfo) ??
    (parts.userInfo !== undefined && !/^[^:]+:.+$/.test(parts.userInfo)
      ? 'credentials must be given as user:password@'
      : undefined) ??
    checkHosts(parts.hosts, parts.scheme) ??
    (parts.rest !== '' && !/^\/?(\?[^=&?]+=[^&?]+(&[^=&?]+=[^&?]+)*)?$/.test(parts.rest)
      ? 'options must follow the hosts as ?key=value&key=value (e.g. ?tls=false)'
      : undefined);
  return problem ? { error: problem } : { value };
}
