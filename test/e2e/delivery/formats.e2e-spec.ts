import { Receiver, ReceivedRequest, startReceiver } from '../../support/receiver';
import {
  DeliveryApp,
  EndpointBody,
  createEndpoint,
  getEvent,
  listDeliveries,
  publish,
  startDeliveryApp,
  tally,
  waitUntil,
  webhookIdOf,
} from './delivery-helpers';

/** raw, discord and slack endpoints: signed requests a real verifier accepts, bodies per format. */
describe('delivery formats', () => {
  let app: DeliveryApp;
  const receivers: Record<EndpointBody['format'], Receiver> = {} as never;
  const endpoints: Record<EndpointBody['format'], EndpointBody> = {} as never;
  const formats = ['raw', 'discord', 'slack'] as const;

  beforeAll(async () => {
    app = await startDeliveryApp();
    for (const format of formats) {
      receivers[format] = await startReceiver();
      endpoints[format] = await createEndpoint(app, {
        url: `${receivers[format].url}${format}?source=rapidly`,
        format,
        events: ['file_sharing_session.download_completed', 'customer.created'],
      });
      receivers[format].setSecret(endpoints[format].secret);
    }
  });
  afterAll(async () => {
    await Promise.all(formats.map((f) => receivers[f]?.close()));
    await app.t.close();
  });

  const data = {
    id: 'fss_123',
    file_name: 'report.pdf',
    amount: 1999,
    paid: true,
    customer: { email: 'buyer@example.com' },
    tags: ['a', 'b'],
  };

  it('sends one signed request per endpoint, each verified by the official library', async () => {
    const before = Date.now();
    const published = await publish(app, 'file_sharing_session.download_completed', data);
    expect(published.webhook_event_ids).toHaveLength(3);
    for (const [i, format] of formats.entries()) {
      const [request] = await receivers[format].waitFor(1);
      expect(request.verified).toBe(true);
      expect(request.method).toBe('POST');
      expect(request.path).toBe(`/${format}?source=rapidly`);
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['user-agent']).toMatch(/RapidlyWebhooks/);
      // Targets are listed in endpoint creation order, one WebhookEvent each.
      expect(webhookIdOf(request)).toBe(published.webhook_event_ids[i]);
      const timestamp = Number(request.headers['webhook-timestamp']);
      expect(timestamp).toBeGreaterThanOrEqual(Math.floor(before / 1000) - 1);
      expect(timestamp).toBeLessThanOrEqual(Math.ceil(request.receivedAt / 1000));
      // The stored payload is exactly the bytes that were sent.
      const event = await getEvent(app, webhookIdOf(request));
      expect(event).toMatchObject({
        webhook_endpoint_id: endpoints[format].id,
        type: 'file_sharing_session.download_completed',
        payload: request.body,
      });
    }
  });

  it('raw: {"type","timestamp","data"} with data as published', () => {
    const body = JSON.parse(receivers.raw.received[0].body) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['type', 'timestamp', 'data']);
    expect(body).toEqual({
      type: 'file_sharing_session.download_completed',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      data,
    });
  });

  it('discord: one embed titled for the event, with the workspace and key fields', () => {
    const body = JSON.parse(receivers.discord.received[0].body) as {
      embeds: Array<{
        title: string;
        fields: Array<{ name: string; value: string }>;
        timestamp: string;
        footer: { text: string };
      }>;
    };
    expect(body.embeds).toHaveLength(1);
    const [embed] = body.embeds;
    expect(embed.title).toBe('File download completed');
    expect(embed.footer.text).toBe('file_sharing_session.download_completed');
    expect(embed.fields[0]).toMatchObject({ name: 'Workspace', value: app.workspaceId });
    expect(embed.fields).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'id', value: 'fss_123' }),
        expect.objectContaining({ name: 'file_name', value: 'report.pdf' }),
        expect.objectContaining({ name: 'amount', value: '1999' }),
        expect.objectContaining({ name: 'customer.email', value: 'buyer@example.com' }),
      ]),
    );
  });

  it('slack: header, section with the workspace and key fields, context with the type', () => {
    const body = JSON.parse(receivers.slack.received[0].body) as {
      text: string;
      blocks: Array<{
        type: string;
        text?: { type: string; text: string };
        fields?: Array<{ type: string; text: string }>;
        elements?: Array<{ type: string; text: string }>;
      }>;
    };
    expect(body.text).toBe('File download completed');
    expect(body.blocks.map((b) => b.type)).toEqual(['header', 'section', 'context']);
    expect(body.blocks[0].text).toEqual({ type: 'plain_text', text: 'File download completed' });
    expect(body.blocks[1].text?.text).toContain(app.workspaceId);
    const fields = body.blocks[1].fields!.map((f) => f.text);
    expect(fields).toEqual(
      expect.arrayContaining(['*id*\nfss_123', '*file_name*\nreport.pdf', '*amount*\n1999']),
    );
    expect(body.blocks[2].elements![0].text).toContain('file_sharing_session.download_completed');
  });

  it('keeps chat messages within the platforms limits for oversized data', async () => {
    // Under the publish body limit (100 kB), far over every per-message limit.
    const huge: Record<string, unknown> = { id: 'x'.repeat(20_000) };
    for (let i = 0; i < 30; i++) huge[`field_${i}_${'k'.repeat(300)}`] = 'v'.repeat(1500);
    const published = await publish(app, 'customer.created', huge);
    expect(published.webhook_event_ids).toHaveLength(3);
    const [, discord] = await receivers.discord.waitFor(2);
    const [, slack] = await receivers.slack.waitFor(2);
    expect(discord.verified && slack.verified).toBe(true);

    const message = JSON.parse(discord.body) as {
      content?: string;
      embeds: Array<{
        title: string;
        description?: string;
        fields: Array<{ name: string; value: string }>;
        footer?: { text: string };
      }>;
    };
    expect((message.content ?? '').length).toBeLessThanOrEqual(2000);
    expect(message.embeds.length).toBeLessThanOrEqual(10);
    let total = 0;
    for (const embed of message.embeds) {
      expect(embed.title.length).toBeLessThanOrEqual(256);
      expect(embed.fields.length).toBeLessThanOrEqual(25);
      for (const field of embed.fields) {
        expect(field.name.length).toBeLessThanOrEqual(256);
        expect(field.value.length).toBeLessThanOrEqual(1024);
        total += field.name.length + field.value.length;
      }
      total += embed.title.length + (embed.description?.length ?? 0);
      total += embed.footer?.text.length ?? 0;
    }
    expect(total).toBeLessThanOrEqual(6000);

    const blocks = (
      JSON.parse(slack.body) as {
        blocks: Array<{ type: string; text?: { text: string }; fields?: Array<{ text: string }> }>;
      }
    ).blocks;
    expect(blocks.length).toBeLessThanOrEqual(50);
    for (const block of blocks.filter((b) => b.type === 'section')) {
      expect(block.text!.text.length).toBeLessThanOrEqual(3000);
      expect((block.fields ?? []).length).toBeLessThanOrEqual(10);
      for (const field of block.fields ?? []) expect(field.text.length).toBeLessThanOrEqual(2000);
    }
  });

  it('lists exactly the attempts the receivers logged', async () => {
    const logged: ReceivedRequest[] = formats.flatMap((f) => receivers[f].received);
    const deliveries = await waitUntil('every logged request to be listed', async () => {
      const list = await listDeliveries(app);
      return list.length >= logged.length ? list : undefined;
    });
    expect(tally(deliveries, (d) => d.webhook_event.id)).toEqual(tally(logged, webhookIdOf));
    for (const d of deliveries) {
      expect(d).toMatchObject({ succeeded: true, http_code: 200, response: 'ok' });
      const request = logged.find((r) => webhookIdOf(r) === d.webhook_event.id)!;
      expect(d.webhook_endpoint_id).toBe(
        formats.map((f) => endpoints[f]).find((e) => request.path.startsWith(`/${e.format}`))!.id,
      );
      expect(d.webhook_event.payload).toBe(request.body);
    }
  });
});
