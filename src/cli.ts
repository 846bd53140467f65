import { AccessToken, SCOPES, Scope, TokenKind } from './auth/access-token';
import { AccessTokensService } from './auth/access-tokens.service';
import { isUuid } from './common/ids';
import { UsageError } from './common/usage-error';
import { loadConfig } from './config/config';
import { openEngine } from './engine/engine';
import { DEFAULT_LIMIT, replayCommand } from './replay/replay.command';

const USAGE = `Usage: npm run --silent cli -- <command>

Commands:
  token create --workspace <uuid> --scopes <scope,...>
      Create a workspace token. Prints the token alone on stdout; it is shown only once.
  token create --user <name> --workspaces <uuid,...> --scopes <scope,...>
      Create a user token for one or more workspaces.
  token list
      List tokens (never the token values: only their ids and grants).
  token revoke <token-id>
      Revoke a token; requests made with it get 401 from then on.
  replay [--threads 1|2]
      Rebuild every read model from position 0 of the event log into fresh storage, then
      switch over at once. The service may keep running: it serves from the old read models
      until the switch, and what it writes meanwhile is in the new ones. With 2 threads (the
      default on a machine with two cores or more) half the log's streams are built on a
      second thread; 1 keeps the replay to one core.
  replay --verify [--limit N]
      Rebuild every read model into scratch storage and compare it with the live one, row by
      row. Prints each difference (the first N, default ${DEFAULT_LIMIT}) and exits 1 if there is
      any drift; changes nothing.

Scopes: ${SCOPES.join(', ')}
Storage: the service's own, from the same variables: DATA_DIR (default ./data), or
MONGODB_URI and EVENTSTORE_CONNECTION_STRING for the production engines.`;

/** Options that take no value. */
const FLAGS = new Set(['verify', 'help']);

type Options = Record<string, string>;

function parseOptions(args: string[]): { positional: string[]; options: Options } {
  const positional: string[] = [];
  const options: Options = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (FLAGS.has(name) && inline === undefined) {
      options[name] = 'true';
      continue;
    }
    const value = inline ?? args[++i];
    if (value === undefined || value.startsWith('--'))
      throw new UsageError(`--${name} needs a value`);
    options[name] = value;
  }
  return { positional, options };
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

function parseScopes(value: string | undefined): Scope[] {
  if (!value) throw new UsageError('--scopes is required');
  return list(value).map((scope) => {
    const known = SCOPES.find((s) => s === scope);
    if (!known) throw new UsageError(`Unknown scope "${scope}" (known: ${SCOPES.join(', ')})`);
    return known;
  });
}

function parseWorkspaces(value: string, flag: string): string[] {
  const ids = list(value);
  if (ids.length === 0) throw new UsageError(`--${flag} needs at least one workspace id`);
  for (const id of ids) if (!isUuid(id)) throw new UsageError(`--${flag}: "${id}" is not a UUID`);
  return ids.map((id) => id.toLowerCase());
}

function parseCreate(options: Options): {
  kind: TokenKind;
  userName: string | null;
  workspaceIds: string[];
  scopes: Scope[];
} {
  const allowed = new Set(['workspace', 'user', 'workspaces', 'scopes']);
  for (const name of Object.keys(options)) {
    if (!allowed.has(name)) throw new UsageError(`Unknown option --${name}`);
  }
  const scopes = parseScopes(options.scopes);
  if (options.workspace !== undefined) {
    if (options.user !== undefined || options.workspaces !== undefined) {
      throw new UsageError('--workspace cannot be combined with --user or --workspaces');
    }
    return {
      kind: 'workspace',
      userName: null,
      workspaceIds: parseWorkspaces(options.workspace, 'workspace'),
      scopes,
    };
  }
  if (options.user !== undefined) {
    if (!options.user.trim()) throw new UsageError('--user needs a name');
    if (options.workspaces === undefined)
      throw new UsageError('--user needs --workspaces <uuid,...>');
    return {
      kind: 'user',
      userName: options.user.trim(),
      workspaceIds: parseWorkspaces(options.workspaces, 'workspaces'),
      scopes,
    };
  }
  throw new UsageError(
    'token create needs --workspace <uuid> or --user <name> --workspaces <uuid,...>',
  );
}

function describe(token: AccessToken): string {
  const owner = token.kind === 'user' ? `user ${token.userName}` : 'workspace';
  const status = token.revokedAt ? `revoked ${token.revokedAt}` : 'active';
  return [
    token.id,
    owner,
    token.workspaceIds.join(','),
    token.scopes.join(','),
    token.createdAt,
    status,
  ].join('\t');
}

async function run(argv: string[]): Promise<number> {
  const { positional, options } = parseOptions(argv);
  const [group, command, ...rest] = positional;
  if (group === undefined || group === 'help' || 'help' in options) {
    console.log(USAGE);
    return 0;
  }
  if (group === 'replay') {
    if (command !== undefined) throw new UsageError(`Unexpected argument "${command}"`);
    return replayCommand(options);
  }
  if (group !== 'token') throw new UsageError(`Unknown command "${group}"`);
  const engine = await openEngine(loadConfig());
  engine.projections.start();
  const tokens = new AccessTokensService(
    engine.eventStore,
    engine.projections,
    engine.accessTokens,
  );
  try {
    switch (command) {
      case 'create': {
        const { token, accessToken } = await tokens.issue(parseCreate(options));
        process.stdout.write(`${token}\n`);
        process.stderr.write(
          `Created token ${accessToken.id} (${accessToken.scopes.join(', ')})\n`,
        );
        return 0;
      }
      case 'list': {
        await engine.projections.catchUp();
        const all = await tokens.list();
        console.log(['ID', 'OWNER', 'WORKSPACES', 'SCOPES', 'CREATED', 'STATUS'].join('\t'));
        for (const token of all) console.log(describe(token));
        return 0;
      }
      case 'revoke': {
        const [id] = rest;
        if (!id || !isUuid(id))
          throw new UsageError('token revoke needs a token id (a UUID; see token list)');
        const revoked = await tokens.revoke(id.toLowerCase());
        console.log(`Revoked token ${revoked.id}`);
        return 0;
      }
      default:
        throw new UsageError(`Unknown token command "${command ?? ''}"`);
    }
  } finally {
    await engine.close();
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`Error: ${error.message}\n\n${USAGE}`);
      process.exit(2);
    }
    console.error(`Error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
