import { bearer, startTestApp, TestApp } from './test-app';

describe('test harness', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp()));
  afterAll(() => t.close());

  it('creates and reads back an endpoint', async () => {
    const { token } = await t.workspaceToken();
    const created = await t.http
      .post('/api/webhooks/endpoints')
      .set(bearer(token))
      .send({ url: 'https://example.com/hook', format: 'raw', events: [] })
      .expect(201);
    await t.http
      .get(`/api/webhooks/endpoints/${created.body.id}`)
      .set(bearer(token))
      .expect(200, created.body);
  });
});
