import { startReceiver, Receiver } from '../../support/receiver';
import { bearer, startTestApp, TestApp } from '../../support/test-app';

/** Publish → fan-out → signed delivery to real receivers on 127.0.0.1. */
describe('publishing and delivery', () => {
  let t: TestApp;
  let receiver: Receiver;
  let token: string;
  let workspaceId: string;
  let publisher: string;

  beforeAll(async () => {
    t = await startTestApp({
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_RETRY_SCHEDULE: '100ms,200ms',
    });
    ({ token, workspaceId } = await t.workspaceToken(['webhooks:read', 'webhooks:write']));
    ({ token: publisher } = await t.workspaceToken(['webhooks:publish'], workspaceId));
  });
  afterAll(async () => {
    await receiver?.close();
    await t.close();
  });

  it('delivers a published event, signed, to every subscribed endpoint', async () => {
    receiver = await startReceiver();
    const endpoint = await t.http
      .post('/api/webhooks/endpoints')
      .set(bearer(token))
      .send({ url: `${receiver.url}hook`, format: 'raw', events: ['customer.created'] })
      .expect(201);
    receiver.setSecret(endpoint.body.secret);
    const published = await t.http
      .post('/api/webhooks/events')
      .set(bearer(publisher))
      .send({ type: 'customer.created', data: { id: 'c_1', email: 'a@example.com' } })
      .expect(202);
    expect(published.body).toEqual({
      id: expect.any(String),
      type: 'customer.created',
      workspace_id: workspaceId,
      webhook_event_ids: [expect.any(String)],
    });
    const [request] = await receiver.waitFor(1);
    expect(request.verified).toBe(true);
    expect(request.headers['webhook-id']).toBe(published.body.webhook_event_ids[0]);
    expect(JSON.parse(request.body)).toEqual({
      type: 'customer.created',
      timestamp: expect.any(String),
      data: { id: 'c_1', email: 'a@example.com' },
    });
    // The attempt is recorded and listed.
    let deliveries;
    for (let i = 0; i < 50; i++) {
      deliveries = await t.http.get('/api/webhooks/deliveries').set(bearer(token)).expect(200);
      if (deliveries.body.meta.total === 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(deliveries!.body.data[0]).toMatchObject({
      succeeded: true,
      http_code: 200,
      webhook_endpoint_id: endpoint.body.id,
      webhook_event: {
        id: published.body.webhook_event_ids[0],
        succeeded: true,
        payload: request.body,
      },
    });
  });
});
