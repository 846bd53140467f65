import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uuidv7 } from '../common/ids';
import { WebhookEventCreated, webhookEventStream } from '../delivery/webhook-event';
import { Engine, openEmbeddedEngine } from '../engine/engine';
import { RETENTION_CHECKPOINT, RetentionJob } from './retention.job';

const DAY_MS = 24 * 3600_000;
const NOW = Date.parse('2026-11-27T12:00:00.000Z');

describe('RetentionJob (embedded engine)', () => {
  let dir: string;
  let engine: Engine;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rapidly-retention-'));
    engine = openEmbeddedEngine(dir);
  });
  afterEach(async () => {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A webhook event created `ageMs` before NOW; returns its id. */
  async function created(ageMs: number): Promise<string> {
    const id = uuidv7();
    const event: WebhookEventCreated = {
      type: 'WebhookEventCreated',
      data: {
        webhookEventId: id,
        endpointId: uuidv7(),
        workspaceId: uuidv7(),
        publicationId: uuidv7(),
        eventType: 'customer.created',
        payload: `{"id":"${id}"}`,
        createdAt: new Date(NOW - ageMs).toISOString(),
      },
    };
    await engine.eventStore.append(webhookEventStream(id), [event], 'no_stream');
    return id;
  }

  const typesOf = async (id: string) =>
    (await engine.eventStore.readStream(webhookEventStream(id))).map((e) => e.type);

  it('archives every event past the period, in batches, once; newer ones stay', async () => {
    // More than one read batch (500) of old creations, then two within the period.
    const old = await Promise.all(Array.from({ length: 620 }, (_, i) => created(40 * DAY_MS - i)));
    const recent = [await created(29 * DAY_MS), await created(DAY_MS)];
    const job = new RetentionJob(
      { store: engine.eventStore, checkpoints: engine.checkpoints },
      30 * DAY_MS,
      () => NOW,
    );

    expect(await job.run()).toBe(620);
    for (const id of [old[0], old[619]]) {
      expect(await typesOf(id)).toEqual(['WebhookEventCreated', 'WebhookEventArchived']);
    }
    for (const id of recent) expect(await typesOf(id)).toEqual(['WebhookEventCreated']);
    const checkpoint = await engine.checkpoints.load(RETENTION_CHECKPOINT);
    expect(checkpoint).toBeGreaterThan(0);

    // Nothing new past the period: nothing appended, the checkpoint stays.
    expect(await job.run()).toBe(0);
    expect(await engine.checkpoints.load(RETENTION_CHECKPOINT)).toBe(checkpoint);
    // Time passes: the next one falls due.
    const later = new RetentionJob(
      { store: engine.eventStore, checkpoints: engine.checkpoints },
      30 * DAY_MS,
      () => NOW + 2 * DAY_MS,
    );
    expect(await later.run()).toBe(1);
    expect(await typesOf(recent[0])).toEqual(['WebhookEventCreated', 'WebhookEventArchived']);
    expect(await typesOf(recent[1])).toEqual(['WebhookEventCreated']);
  });

  it('shares a run in progress instead of starting a second one', async () => {
    await created(31 * DAY_MS);
    const job = new RetentionJob(
      { store: engine.eventStore, checkpoints: engine.checkpoints },
      30 * DAY_MS,
      () => NOW,
    );
    const [first, second] = [job.run(), job.run()];
    expect(second).toBe(first);
    expect(await first).toBe(1);
    expect(job.current).toBeUndefined();
  });

  it('archives an event only once even when its checkpoint was lost (two replicas)', async () => {
    const id = await created(31 * DAY_MS);
    const ports = { store: engine.eventStore, checkpoints: engine.checkpoints };
    expect(await new RetentionJob(ports, 30 * DAY_MS, () => NOW).run()).toBe(1);
    await engine.checkpoints.save(RETENTION_CHECKPOINT, 0);
    expect(await new RetentionJob(ports, 30 * DAY_MS, () => NOW).run()).toBe(0);
    expect(await typesOf(id)).toEqual(['WebhookEventCreated', 'WebhookEventArchived']);
  });
});
