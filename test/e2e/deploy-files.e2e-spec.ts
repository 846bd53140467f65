import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/config';
import { connectionTarget } from '../../src/config/connection-strings';

/**
 * The deployment files cannot be run here (no Docker engine), so this checks what can be checked
 * without one: the Dockerfile builds with the very commands CI runs, so CI exercises them; the
 * compose file wires the service to its engines with variables the service accepts and the
 * README documents; and `docker-compose config` validates both profiles where it is installed.
 */
const ROOT = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Dockerfile instructions by stage: comments dropped, `\` continuations joined. */
function dockerfileStages(text: string): Stage[] {
  const logical = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, keyword, args] = /^(\S+)\s+(.*)$/.exec(line) ?? [];
    const instruction = { keyword: keyword.toUpperCase(), args: args.replace(/\s+/g, ' ') };
    if (instruction.keyword === 'FROM') {
      const [from, as, name] = instruction.args.split(' ');
      stages.push({ from, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return stages;
}

const runs = (stage: Stage) =>
  stage.instructions
    .filter((i) => i.keyword === 'RUN')
    .flatMap((i) => i.args.split('&&').map((command) => command.trim()));
const npmRuns = (stage: Stage) => runs(stage).filter((command) => command.startsWith('npm '));

/** The install and build commands .ci/run runs, exactly as written there. */
function ciCommands(): { install: string; build: string } {
  const lines = read('.ci/run')
    .split('\n')
    .map((line) => line.trim());
  const install = lines.filter((line) => /^npm ci\b/.test(line));
  const build = lines.filter((line) => /^npm run build\b/.test(line));
  expect(install).toHaveLength(1);
  expect(build).toHaveLength(1);
  return { install: install[0], build: build[0] };
}

type Yaml = Record<string, unknown>;

function object(value: unknown, what: string): Yaml {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${what} is not a mapping`);
  }
  return value as Yaml;
}

/** `environment` as a mapping, whether written as a mapping or as a list of NAME=value. */
function environment(service: Yaml): Record<string, string> {
  const env = service.environment;
  const entries: Array<[string, unknown]> = Array.isArray(env)
    ? env.map((item) => String(item).split(/=(.*)/s, 2) as [string, string])
    : Object.entries(object(env, 'environment'));
  return Object.fromEntries(entries.map(([name, value]) => [name, String(value)]));
}

const composeFile = () => object(parse(read('docker-compose.yml'), { merge: true }), 'compose');
const services = () => object(composeFile().services, 'services');
const service = (name: string) => object(services()[name], `service ${name}`);

/** Variables listed in the README's "Production engines" section, in its tables. */
function documentedVariables(): string[] {
  const readme = read('README.md');
  const start = readme.indexOf('\n## Production engines');
  expect(start).toBeGreaterThanOrEqual(0);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
}

describe('Dockerfile', () => {
  const stages = dockerfileStages(read('Dockerfile'));
  const runtime = stages.at(-1)!;

  it('builds with exactly the install and build commands CI runs, in that order', () => {
    const ci = ciCommands();
    const building = stages.filter((stage) => npmRuns(stage).includes(ci.build));
    expect(building).toHaveLength(1);
    expect(npmRuns(building[0])).toEqual([ci.install, ci.build]);
  });

  it('runs no other npm command than those, but for the production-only install', () => {
    const ci = ciCommands();
    const productionInstall = ci.install.replace(/^npm ci/, 'npm ci --omit=dev');
    const all = stages.flatMap(npmRuns);
    expect(all.filter((c) => c !== ci.install && c !== ci.build)).toEqual([productionInstall]);
  });

  it('runs on Node 20 everywhere, the runtime on production dependencies only', () => {
    const names = new Set(stages.map((s) => s.name));
    for (const stage of stages) {
      if (!names.has(stage.from)) expect(stage.from).toBe('node:20-bookworm-slim');
    }
    const copied = runtime.instructions
      .filter((i) => i.keyword === 'COPY' && i.args.startsWith('--from='))
      .map((i) => i.args);
    const modulesFrom = copied.find((args) => args.includes('node_modules'))!;
    const source = stages.find((s) => s.name === /--from=(\S+)/.exec(modulesFrom)![1])!;
    expect(npmRuns(source)).toEqual([ciCommands().install.replace(/^npm ci/, 'npm ci --omit=dev')]);
    expect(runs(runtime)).not.toContainEqual(expect.stringMatching(/^npm /));
  });

  it('runs as a non-root user, keeps DATA_DIR in a volume, checks /health and starts main.js', () => {
    const last = (keyword: string) =>
      runtime.instructions.filter((i) => i.keyword === keyword).at(-1)?.args;
    expect(last('USER')).toBeDefined();
    expect(last('USER')).not.toMatch(/^(root|0)(:|$)/);
    const dataDir = /DATA_DIR=(\S+)/.exec(last('ENV') ?? '')?.[1];
    expect(dataDir).toBeDefined();
    expect(JSON.parse(last('VOLUME') ?? '[]')).toContain(dataDir);
    expect(last('HEALTHCHECK')).toMatch(/CMD .*\/health/);
    expect(JSON.parse(last('CMD') ?? '[]')).toEqual(['node', 'dist/src/main.js']);
  });

  it('keeps dependencies, build output, data and the repository out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim());
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', 'data', '.git']));
  });
});

describe('docker-compose.yml', () => {
  const replicas = () =>
    Object.entries(services()).filter(([, s]) => object(s, 'service').build !== undefined);

  it('runs EventStoreDB (single node, insecure) and MongoDB (replica set rs0), health-checked', () => {
    const eventStoreDb = service('eventstoredb');
    expect(eventStoreDb.image).toMatch(/^eventstore\/eventstore:24\.10/);
    expect(environment(eventStoreDb)).toMatchObject({
      EVENTSTORE_CLUSTER_SIZE: '1',
      EVENTSTORE_INSECURE: 'true',
    });
    expect(object(eventStoreDb.healthcheck, 'healthcheck').test).toContainEqual(
      expect.stringContaining('/health/live'),
    );
    const mongo = service('mongodb');
    expect(mongo.image).toMatch(/^mongo:[78]$/);
    expect((mongo.command as string[]).join(' ')).toContain('--replSet rs0');
    const probe = (object(mongo.healthcheck, 'healthcheck').test as string[]).join(' ');
    expect(probe).toContain("rs.initiate({ _id: 'rs0'");
    expect(probe).toContain('isWritablePrimary');
  });

  it('wires the service to both engines with values the service accepts', () => {
    const webhooks = service('webhooks');
    expect(webhooks.build).toBe('.');
    const env = environment(webhooks);
    const { engines } = loadConfig(env);
    expect(engines.eventStoreDb).not.toBeNull();
    expect(engines.mongoDb).not.toBeNull();
    // Each connection string points at the compose service of its engine.
    expect(connectionTarget(engines.eventStoreDb!.connectionString)).toBe(
      'esdb://eventstoredb:2113',
    );
    expect(connectionTarget(engines.mongoDb!.uri)).toBe('mongodb://mongodb:27017');
    expect(engines.mongoDb!.uri).toContain('replicaSet=rs0');
    expect(webhooks.depends_on).toEqual({
      eventstoredb: { condition: 'service_healthy' },
      mongodb: { condition: 'service_healthy' },
    });
    expect(webhooks.ports).toEqual(['3000:3000']);
  });

  it('sets only variables the README documents for the production engines', () => {
    const documented = documentedVariables();
    expect(documented).toEqual(
      expect.arrayContaining([
        'EVENTSTORE_CONNECTION_STRING',
        'EVENTSTORE_STREAM_PREFIX',
        'MONGODB_URI',
        'MONGODB_DATABASE',
      ]),
    );
    const configuration = read('README.md');
    for (const [, definition] of replicas()) {
      for (const name of Object.keys(environment(object(definition, 'service')))) {
        const inTables = documented.includes(name) || configuration.includes(`| \`${name}\` |`);
        expect({ name, documented: inTables }).toEqual({ name, documented: true });
      }
    }
  });

  it('runs a second replica on port 3001 in the `replicas` profile, on the same engines', () => {
    const [first, ...others] = replicas();
    expect(object(first[1], 'service').profiles).toBeUndefined();
    expect(others).toHaveLength(1);
    const second = object(others[0][1], 'service');
    expect(second.profiles).toEqual(['replicas']);
    expect(second.ports).toEqual(['3001:3000']);
    expect(environment(second)).toEqual(environment(object(first[1], 'service')));
    expect(second.depends_on).toEqual(object(first[1], 'service').depends_on);
  });

  const dockerCompose = spawnSync('docker-compose', ['version'], { encoding: 'utf8' });
  const haveDockerCompose = dockerCompose.status === 0;
  if (!haveDockerCompose) {
    process.stdout.write('docker-compose config checks skipped: docker-compose is not on PATH\n');
  }
  (haveDockerCompose ? it : it.skip).each([[[]], [['--profile', 'replicas']]])(
    'validates with `docker-compose config -q` %j',
    (profile: string[]) => {
      const result = spawnSync(
        'docker-compose',
        ['-f', 'docker-compose.yml', ...profile, 'config', '-q'],
        { cwd: ROOT, encoding: 'utf8', timeout: 30_000 },
      );
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    },
  );
});
