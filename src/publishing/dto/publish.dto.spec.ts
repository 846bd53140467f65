import { validate } from 'class-validator';
import { ApiError } from '../../common/errors';
import { ApiValidationPipe } from '../../common/validation.pipe';
import { WEBHOOK_EVENT_TYPES } from '../../common/webhook-event-types';
import { PublishEventRequest } from './publish.dto';

/** What class-validator says of a body, with the options the pipe uses. */
async function problems(body: Record<string, unknown>): Promise<string[]> {
  const instance = Object.assign(new PublishEventRequest(), body);
  const errors = await validate(instance, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: false,
  });
  return errors.map((e) => e.property);
}

const uuid = '0191b8a4-7c2e-7cc1-8f3a-2a3b4c5d6e7f';
const valid: Array<Record<string, unknown>> = [
  { type: 'customer.created', data: {} },
  { type: WEBHOOK_EVENT_TYPES[WEBHOOK_EVENT_TYPES.length - 1], data: { a: [1, { b: null }] } },
  { type: 'customer.created', data: { x: 1 }, workspace_id: uuid },
  { type: 'customer.created', data: { x: 1 }, workspace_id: null },
  { type: 'customer.created', data: { x: 1 }, workspace_id: uuid.toUpperCase() },
];
const invalid: Array<Record<string, unknown>> = [
  {},
  { data: {} },
  { type: 'customer.created' },
  { type: 'no.such.type', data: {} },
  { type: 'Customer.Created', data: {} },
  { type: 7, data: {} },
  { type: ['customer.created'], data: {} },
  { type: 'customer.created', data: [] },
  { type: 'customer.created', data: null },
  { type: 'customer.created', data: 'text' },
  { type: 'customer.created', data: 1 },
  { type: 'customer.created', data: {}, workspace_id: 'not-a-uuid' },
  { type: 'customer.created', data: {}, workspace_id: `${uuid}0` },
  { type: 'customer.created', data: {}, workspace_id: 42 },
  { type: 'customer.created', data: {}, workspace_id: '' },
  { type: 'customer.created', data: {}, extra: 1 },
  { type: 'customer.created', data: {}, workspace_id: uuid, Type: 'x' },
];

describe('PublishEventRequest.isPlainlyValid (the publish route skips class-validator on it)', () => {
  it.each(valid.map((body) => [JSON.stringify(body), body]))(
    'passes %s, which class-validator passes too',
    async (_name, body) => {
      expect(PublishEventRequest.isPlainlyValid(body)).toBe(true);
      expect(await problems(body)).toEqual([]);
    },
  );

  it.each(invalid.map((body) => [JSON.stringify(body), body]))(
    'leaves %s to class-validator, which finds the problem',
    async (_name, body) => {
      expect(PublishEventRequest.isPlainlyValid(body)).toBe(false);
      expect((await problems(body)).length).toBeGreaterThan(0);
    },
  );

  it('lets the pipe answer a plainly valid body without class-validator, and words problems as before', async () => {
    const pipe = new ApiValidationPipe();
    const metadata = { type: 'body' as const, metatype: PublishEventRequest };
    const accepted = await pipe.transform(valid[2], metadata);
    expect(accepted).toBeInstanceOf(PublishEventRequest);
    expect(accepted).toEqual(valid[2]);
    const refused = await pipe
      .transform({ type: 'customer.created', data: [] }, metadata)
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).body).toMatchObject({
      detail: [{ type: 'model_attributes_type', loc: ['body', 'data'] }],
    });
  });
});
