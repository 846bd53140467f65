import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uuidv7 } from '../../../src/common/ids';
import { openEmbeddedEngine } from '../../../src/engine/engine';
import { WebhookPublished, publicationStream } from '../../../src/publishing/publication';
import { Receiver, startReceiver } from '../../support/receiver';
import {
  DeliveryApp,
  createEndpoint,
  getEndpoint,
  getEvent,
  patchEndpoint,
  publish,
  startDeliveryApp,
  waitForDeliveries,
  waitUntil,
  webhookIdOf,
} from './delivery-helpers';

/** The delivery saga's checkpoint name (src/delivery/delivery-saga.ts). */
const SAGA_CHECKPOINT = 'delivery_saga';

/**
 * The saga saves its checkpoint in batches, so after a crash it handles the last events again.
 * Handling them again must not undo what users did meanwhile: here the crash is simulated by
 * stopping the app and moving the saga's checkpoint back to before the event, then restarting on
 * the same data.
 */
describe('delivery saga replay after a crash', () => {
  const env = { WEBHOOK_RETRY_SCHEDULE: '1500ms' };
  let dataDir: string;
  let app: DeliveryApp;
  let receiver: Receiver;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'rapidly-replay-'));
  });
  afterEach(async () => {
    await receiver?.close();
    await app?.t.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Stops the app, rewinds the saga to just before the first `eventType`, restarts the app. */
  async function restartReplaying(
    eventType: string,
    match: (data: Record<string, unknown>) => boolean = () => true,
  ): Promise<void> {
    const log = await app.t.engine.eventStore.readAll({
      fromPosition: 0,
      maxCount: 100_000,
      filter: { eventTypes: [eventType] },
    });
    const position = log.find((e) => match(e.data))!.position;
    const { workspaceId, token, publisher } = app;
    await app.t.close();
    const engine = openEmbeddedEngine(dataDir);
    await engine.checkpoints.save(SAGA_CHECKPOINT, position - 1);
    await engine.close();
    const restarted = await startDeliveryApp(env, {}, dataDir);
    app = { ...restarted, workspaceId, token, publisher };
  }

  it('does not skip an event published after the endpoint was disabled and enabled again', async () => {
    app = await startDeliveryApp(env, {}, dataDir);
    receiver = await startReceiver({
      respond: (_request, index) => ({ status: index === 0 ? 500 : 200 }),
    });
    const endpoint = await createEndpoint(app, { url: `${receiver.url}hook` });
    receiver.setSecret(endpoint.secret);
    await patchEndpoint(app, endpoint.id, { enabled: false });
    await patchEndpoint(app, endpoint.id, { enabled: true });
    const eventId = (await publish(app, 'customer.created', { id: 'c_1' })).webhook_event_ids[0];
    // The first attempt fails; its retry is due 1.2-1.8 s later.
    await waitForDeliveries(app, eventId, 1);

    await restartReplaying('WebhookEndpointDisabled');
    // Publishing returns once the saga has handled the log up to it, the replay included.
    await publish(app, 'customer.updated', {});
    expect((await getEvent(app, eventId)).skipped).toBe(false);
    const [, retry] = await receiver.waitFor(2);
    expect(webhookIdOf(retry)).toBe(eventId);
    expect(retry.verified).toBe(true);
    await waitUntil('the retry to be recorded', async () =>
      (await getEvent(app, eventId)).succeeded === true ? true : undefined,
    );
  });

  it('does not disable again an endpoint re-enabled after a 410', async () => {
    app = await startDeliveryApp(env, {}, dataDir);
    receiver = await startReceiver({ respond: () => ({ status: 410 }) });
    const endpoint = await createEndpoint(app, { url: `${receiver.url}hook` });
    await publish(app, 'customer.created', { id: 'c_1' });
    await waitUntil('the 410 to disable the endpoint', async () =>
      (await getEndpoint(app, endpoint.id)).enabled ? undefined : true,
    );
    await patchEndpoint(app, endpoint.id, { enabled: true });

    await restartReplaying('DeliveryAttempted', (data) => data.httpCode === 410);
    await publish(app, 'customer.updated', {});
    expect((await getEndpoint(app, endpoint.id)).enabled).toBe(true);
  });

  it('fans out a publication recorded without its WebhookEvents', async () => {
    // What an engine that commits streams one by one leaves after a crash between the appends
    // of a publish: the publication alone. The saga must create and deliver its WebhookEvents.
    app = await startDeliveryApp(env, {}, dataDir);
    receiver = await startReceiver();
    const endpoint = await createEndpoint(app, { url: `${receiver.url}hook`, format: 'slack' });
    receiver.setSecret(endpoint.secret);
    const publicationId = uuidv7();
    const webhookEventId = uuidv7();
    const published: WebhookPublished = {
      type: 'WebhookPublished',
      data: {
        publicationId,
        workspaceId: app.workspaceId,
        eventType: 'customer.created',
        payloadData: { id: 'c_9' },
        timestamp: new Date().toISOString(),
        targets: [{ endpointId: endpoint.id, webhookEventId }],
      },
    };
    await app.t.engine.eventStore.append(
      publicationStream(publicationId),
      [published],
      'no_stream',
    );

    const [request] = await receiver.waitFor(1);
    expect(request.verified).toBe(true);
    expect(webhookIdOf(request)).toBe(webhookEventId);
    // Rendered for the endpoint's format.
    expect(JSON.parse(request.body)).toHaveProperty('blocks');
    await waitUntil(
      'the attempt recorded',
      async () => (await getEvent(app, webhookEventId)).succeeded === true,
    );
  });
});
