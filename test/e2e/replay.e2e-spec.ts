import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { uuidv7 } from '../../src/common/ids';
import { DATABASE_FILE } from '../../src/eventstore/sqlite/sqlite-database';
import { CLI, assertBuilt } from '../support/service-process';
import { bearer } from '../support/test-app';
import {
  DeliveryBody,
  createEndpoint,
  getEndpoint,
  getEvent,
  listDeliveries,
  patchEndpoint,
  publish,
  redeliver,
  useDeliveryApp,
  waitForEvent,
  waitUntil,
} from './delivery/delivery-helpers';

interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
  startedAt: number;
  endedAt: number;
}

/** The built CLI in a child process, without blocking this one (the app keeps serving). */
function cli(args: string[], dataDir: string): Promise<CliRun> {
  assertBuilt();
  const startedAt = Date.now();
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status) =>
      resolve({ status, stdout, stderr, startedAt, endedAt: Date.now() }),
    );
  });
}

describe('CLI replay --verify', () => {
  const delivery = useDeliveryApp();

  /** A small but varied history: successes, retries, a final failure, a redelivery, updates. */
  async function makeHistory() {
    const ok = await delivery.endpointWithReceiver();
    let calls = 0;
    const flaky = await delivery.endpointWithReceiver({
      respond: () => ({ status: ++calls <= 2 ? 503 : 200 }),
    });
    const dead = await delivery.endpointWithReceiver({ respond: () => ({ status: 500 }) });
    const okEvents = [await ok.publishOne('c_1'), await ok.publishOne('c_2')];
    const flakyEvent = await flaky.publishOne('c_3');
    const deadEvent = await dead.publishOne('c_4');
    for (const id of okEvents) await waitForEvent(ok.w, id, (e) => e.succeeded === true);
    await waitForEvent(flaky.w, flakyEvent, (e) => e.succeeded === true);
    await waitForEvent(dead.w, deadEvent, (e) => e.succeeded === false, 15_000);
    await redeliver(ok.w, okEvents[0]);
    await waitUntil('the redelivery', async () => {
      const all = await listDeliveries(ok.w);
      return all.filter((d) => d.webhook_event.id === okEvents[0]).length === 2;
    });
    await patchEndpoint(dead.w, dead.endpoint.id, { enabled: false });
    const deliveries = await listDeliveries(ok.w);
    return { ok, flaky, dead, okEvents, deadEvent, deliveries };
  }

  it('reports no drift on a delivery history, then each tampered row, and replay repairs them', async () => {
    const { t } = delivery.app;
    const { ok, dead, okEvents, deadEvent, deliveries } = await makeHistory();

    const clean = await cli(['replay', '--verify'], t.dataDir);
    expect(clean.stderr).toMatch(/\[#+\]\s+100%/);
    expect(clean.stdout).toContain('No drift');
    expect(clean.status).toBe(0);

    // Tamper with the live read models behind the service's back.
    const tampered: DeliveryBody = deliveries[0];
    const intruder = uuidv7();
    const file = new Database(join(t.dataDir, DATABASE_FILE), { timeout: 10_000 });
    try {
      file.prepare('UPDATE deliveries SET http_code = 418 WHERE id = ?').run(tampered.id);
      file.prepare('DELETE FROM webhook_events WHERE id = ?').run(deadEvent);
      file
        .prepare(
          `INSERT INTO endpoints (id, workspace_id, created_at, deleted, doc) VALUES (?, ?, ?, 0, '{}')`,
        )
        .run(intruder, ok.w.workspaceId, new Date().toISOString());
      const doc = file
        .prepare<[string], { doc: string }>('SELECT doc FROM endpoints WHERE id = ?')
        .get(dead.endpoint.id)!.doc;
      file
        .prepare('UPDATE endpoints SET doc = ? WHERE id = ?')
        .run(
          JSON.stringify({ ...JSON.parse(doc), url: 'https://evil.example/' }),
          dead.endpoint.id,
        );
    } finally {
      file.close();
    }

    const drift = await cli(['replay', '--verify'], t.dataDir);
    expect(drift.status).toBe(1);
    const lines = drift.stdout.split('\n');
    expect(lines).toContain(`deliveries ${tampered.id}: http_code: live 418, rebuilt 200`);
    expect(lines).toContain(`webhook_events ${deadEvent}: missing from the live read model`);
    expect(lines).toContain(`endpoints ${intruder}: in the live read model, not in the rebuild`);
    expect(lines).toContain(
      `endpoints ${dead.endpoint.id}: doc.url: live "https://evil.example/", rebuilt "${dead.endpoint.url}"`,
    );
    expect(drift.stdout).toContain('Drift: 4 difference(s).');

    const limited = await cli(['replay', '--verify', '--limit', '1'], t.dataDir);
    expect(limited.status).toBe(1);
    expect(limited.stdout).toContain('Drift: 4 difference(s) (1 printed; --limit N for more).');

    // replay rebuilds from the log and switches the service over: the tampering is gone. (One
    // thread here; the test below runs the two-thread replay, with its worker, on a busy service.)
    const replay = await cli(['replay', '--threads', '1'], t.dataDir);
    expect(replay.stdout).toMatch(/Replayed [\d,]+ events in .* on 1 thread; switched over at/);
    expect(replay.status).toBe(0);
    expect((await cli(['replay', '--verify'], t.dataDir)).status).toBe(0);
    const repaired = await listDeliveries(ok.w);
    expect(repaired.find((d) => d.id === tampered.id)!.http_code).toBe(200);
    expect((await getEvent(dead.w, deadEvent)).succeeded).toBe(false);
    expect((await getEndpoint(dead.w, dead.endpoint.id)).url).toBe(dead.endpoint.url);
    await t.http.get(`/api/webhooks/endpoints/${intruder}`).set(bearer(ok.w.token)).expect(404);
    // And the service goes on writing to the new read models.
    const after = await ok.publishOne('c_after');
    await waitForEvent(ok.w, after, (e) => e.succeeded === true);
    expect(okEvents).toHaveLength(2);
  });

  it('refuses unknown options with the usage', async () => {
    const run = await cli(['replay', '--verbose', 'yes'], delivery.app.t.dataDir);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('Unknown option --verbose');
    const limit = await cli(['replay', '--limit', '3'], delivery.app.t.dataDir);
    expect(limit.status).toBe(2);
    expect(limit.stderr).toContain('--limit goes with --verify');
    const threads = await cli(['replay', '--threads', '3'], delivery.app.t.dataDir);
    expect(threads.status).toBe(2);
    expect(threads.stderr).toContain('--threads needs 1 or 2, not "3"');
    const verifyThreads = await cli(
      ['replay', '--verify', '--threads', '2'],
      delivery.app.t.dataDir,
    );
    expect(verifyThreads.status).toBe(2);
    expect(verifyThreads.stderr).toContain('--threads goes with replay');
  });
});

describe('CLI replay on a running service', () => {
  const delivery = useDeliveryApp({ WEBHOOK_RETRY_SCHEDULE: '1h' });

  it('loses no request made during it', async () => {
    const { t } = delivery.app;
    const target = await delivery.endpointWithReceiver();
    const w = target.w;
    // A log long enough for the replay to take a while: 20 endpoints, each event fans out to all.
    for (let i = 0; i < 19; i++) await createEndpoint(w, { url: `${target.receiver.url}hook` });
    for (let i = 0; i < 150; i++) await publish(w, 'customer.created', { id: `seed_${i}` });
    await waitUntil(
      'the seeded deliveries',
      () => target.receiver.received.length >= 150 * 20,
      60_000,
    );

    // Requests of every kind, four at a time, from before the replay starts until it has ended.
    const made = { endpoints: [] as string[], events: [] as string[], patched: [] as string[] };
    const during: number[] = [];
    let replaying = false;
    let running = true;
    const client = async (n: number) => {
      for (let i = 0; running; i++) {
        const kind = (n + i) % 3;
        if (kind === 0) {
          const endpoint = await createEndpoint(w, { url: `${target.receiver.url}new/${n}/${i}` });
          made.endpoints.push(endpoint.id);
        } else if (kind === 1) {
          made.events.push(
            ...(await publish(w, 'customer.updated', { id: `during_${n}_${i}` })).webhook_event_ids,
          );
        } else if (made.endpoints.length > 0) {
          const id = made.endpoints[made.endpoints.length - 1];
          await patchEndpoint(w, id, { url: `${target.receiver.url}patched/${n}/${i}` });
          made.patched.push(id);
        }
        if (replaying) during.push(Date.now());
      }
    };
    const clients = [0, 1, 2, 3].map(client);
    await new Promise((r) => setTimeout(r, 200));
    replaying = true;
    // Two threads: half the streams are built on a worker thread and copied in.
    const replay = await cli(['replay', '--threads', '2'], t.dataDir);
    replaying = false;
    await new Promise((r) => setTimeout(r, 200));
    running = false;
    await Promise.all(clients);

    expect(replay.stderr).toMatch(/\[#+\]\s+100%/);
    expect(replay.status).toBe(0);
    // The second half was built on a worker thread (not in turn on this one).
    expect(replay.stdout).toMatch(/ on 2 threads; switched over at /);
    expect(replay.stderr).toContain("copying in the second thread's half");
    expect(during.length).toBeGreaterThan(20);

    // Every write made before, during and after the switch is in the new read models.
    for (const id of made.endpoints) await getEndpoint(w, id);
    for (const id of new Set(made.patched)) {
      expect((await getEndpoint(w, id)).url).toContain('/patched/');
    }
    for (const id of made.events) {
      await waitForEvent(w, id, (e) => e.succeeded === true, 20_000);
    }
    expect((await cli(['replay', '--verify'], t.dataDir)).stdout).toContain('No drift');
  });
});
