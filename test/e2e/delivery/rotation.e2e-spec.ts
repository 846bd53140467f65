import { bearer } from '../../support/test-app';
import {
  DeliveryAppFixture,
  EndpointBody,
  patchEndpoint,
  pause,
  publish,
  signaturesOf,
  useDeliveryApp,
} from './delivery-helpers';

/**
 * Secret rotation: during the grace period every request carries a signature for the new and for
 * the previous secret, each of which the official verifier accepts on its own; after it, only
 * the new one.
 */
describe('secret rotation', () => {
  async function setUp(delivery: DeliveryAppFixture) {
    const { w, receiver, endpoint } = await delivery.endpointWithReceiver();
    const rotate = async (): Promise<string> => {
      const response = await w.t.http
        .patch(`/api/webhooks/endpoints/${endpoint.id}/secret`)
        .set(bearer(w.token))
        .expect(200);
      return (response.body as EndpointBody).secret;
    };
    const deliverNext = async () => {
      const published = await publish(w, 'customer.created', { id: 'c' });
      const requests = await receiver.waitFor(receiver.received.length + 1);
      const request = requests.at(-1)!;
      expect(request.headers['webhook-id']).toBe(published.webhook_event_ids[0]);
      return request;
    };
    return { w, endpointId: endpoint.id, receiver, original: endpoint.secret, rotate, deliverNext };
  }

  describe('within the grace period', () => {
    const delivery = useDeliveryApp({ WEBHOOK_SECRET_GRACE_PERIOD: '1h' });

    it('signs with both the new and the previous secret', async () => {
      const { receiver, original, rotate, deliverNext } = await setUp(delivery);
      const rotated = await rotate();
      expect(rotated).toMatch(/^whsec_/);
      expect(rotated).not.toBe(original);
      receiver.setSecret([original, rotated]);

      const request = await deliverNext();
      expect(signaturesOf(request)).toHaveLength(2);
      expect(signaturesOf(request).every((s) => s.startsWith('v1,'))).toBe(true);
      expect(request.verifiedSecrets.sort()).toEqual([original, rotated].sort());
    });

    it('after a second rotation, the first secret no longer signs', async () => {
      const { receiver, original, rotate, deliverNext } = await setUp(delivery);
      const first = await rotate();
      const second = await rotate();
      receiver.setSecret([original, first, second]);
      const request = await deliverNext();
      expect(signaturesOf(request)).toHaveLength(2);
      expect(request.verifiedSecrets.sort()).toEqual([first, second].sort());
    });

    it('a user-supplied secret (deprecated PATCH field) signs with its UTF-8 bytes, as a rotation', async () => {
      const { receiver, original, deliverNext, w, endpointId } = await setUp(delivery);
      const custom = 'my-own-signing-secret-of-at-least-32-chars';
      await patchEndpoint(w, endpointId, { secret: custom });
      receiver.setSecret([original, custom]);
      const request = await deliverNext();
      expect(request.verifiedSecrets.sort()).toEqual([original, custom].sort());
    });
  });

  describe('after the grace period', () => {
    const GRACE_MS = 1000;
    const delivery = useDeliveryApp({ WEBHOOK_SECRET_GRACE_PERIOD: '1s' });

    it('signs with the new secret only', async () => {
      const { receiver, original, rotate, deliverNext } = await setUp(delivery);
      receiver.setSecret(original);
      expect((await deliverNext()).verifiedSecrets).toEqual([original]);

      const rotated = await rotate();
      // The grace period started before the response: from here it ends within GRACE_MS.
      const rotatedBy = Date.now();
      receiver.setSecret([original, rotated]);
      // The one unavoidable wait: for the grace period to end.
      await pause(rotatedBy + GRACE_MS + 50 - Date.now());
      const request = await deliverNext();
      expect(signaturesOf(request)).toHaveLength(1);
      expect(request.verifiedSecrets).toEqual([rotated]);
    });
  });
});
