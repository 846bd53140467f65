import { startTestApp, TestApp } from '../support/test-app';

describe('request edge cases', () => {
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await startTestApp();
    ({ token } = await t.workspaceToken());
  });
  afterAll(() => t.close());

  it('accepts the bearer scheme name in any case', async () => {
    await t.http.get('/api/webhooks/endpoints').set('Authorization', `bearer ${token}`).expect(200);
    await t.http.get('/api/webhooks/endpoints').set('Authorization', `BEARER ${token}`).expect(200);
  });

  it('answers 422 for a path that is not valid percent-encoding', async () => {
    const response = await t.http
      .get('/api/webhooks/endpoints/%')
      .set('Authorization', `Bearer ${token}`)
      .expect(422);
    expect(response.body).toEqual({
      error: 'RequestValidationError',
      detail: [
        {
          type: 'value_error',
          loc: ['path'],
          msg: 'Path is not valid percent-encoding',
          input: '%',
        },
      ],
    });
  });

  it('treats a "__proto__" body field as an unknown field, not as the prototype', async () => {
    // Written as text: an object literal's `__proto__` would set the prototype, not a key.
    const raw =
      '{"url":"https://hooks.example.com/a","format":"raw","events":["customer.created"],' +
      '"__proto__":{"url":"https://evil.example.com/"}}';
    const response = await t.http
      .post('/api/webhooks/endpoints')
      .set('Authorization', `Bearer ${token}`)
      .set('Content-Type', 'application/json')
      .send(raw)
      .expect(422);
    expect(response.body.detail).toEqual([
      expect.objectContaining({ type: 'extra_forbidden', loc: ['body', '__proto__'] }),
    ]);
  });
});
