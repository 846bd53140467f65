import { randomBytes, randomUUID } from 'node:crypto';
import {
  AccessToken,
  AccessTokenEvent,
  IssueAccessToken,
  RevokeAccessToken,
  accessTokenStream,
  decide as decideToken,
  evolve as evolveToken,
  hashToken,
} from '../../src/auth/access-token';
import {
  CreateEndpoint,
  Endpoint,
  EndpointCommand,
  EndpointEvent,
  decide as decideEndpoint,
  endpointStream,
  evolve as evolveEndpoint,
} from '../../src/endpoints/endpoint';
import { Engine } from '../../src/engine/engine';
import { executeOnStream } from '../../src/eventstore/command-execution';
import { EventStore } from '../../src/eventstore/event-store';
import { ContractStorage, Storages, within } from './contract-support';
import { deliveriesContract } from './deliveries.contract';
import { dueWorkContract } from './due-work.contract';

const GRACE_MS = 60 * 60 * 1000;
const BASE_TIME = Date.parse('2026-01-01T00:00:00.000Z');
const at = (seconds: number) => new Date(BASE_TIME + seconds * 1000).toISOString();

const endpointDecider = { evolve: evolveEndpoint, initialState: null as Endpoint | null };
const tokenDecider = { evolve: evolveToken, initialState: null as AccessToken | null };

/** Decides a command on an endpoint's stream through the real write path; returns the position. */
async function onEndpoint(
  store: EventStore,
  id: string,
  command: EndpointCommand,
): Promise<number> {
  const result = await executeOnStream<Endpoint | null, EndpointEvent>(
    store,
    endpointStream(id),
    endpointDecider,
    (state) => decideEndpoint(state, command),
  );
  return result.position ?? 0;
}

async function onToken(
  store: EventStore,
  id: string,
  command: IssueAccessToken | RevokeAccessToken,
): Promise<number> {
  const result = await executeOnStream<AccessToken | null, AccessTokenEvent>(
    store,
    accessTokenStream(id),
    tokenDecider,
    (state) => decideToken(state, command),
  );
  return result.position ?? 0;
}

/** The endpoint as its own stream says it is: the oracle for the read model. */
async function foldEndpoint(store: EventStore, id: string): Promise<Endpoint | null> {
  const recorded = await store.readStream(endpointStream(id));
  return recorded.reduce<Endpoint | null>(
    (state, e) => evolveEndpoint(state, { type: e.type, data: e.data } as EndpointEvent),
    null,
  );
}

const secret = () => `whsec_${randomBytes(32).toString('base64')}`;

function createCommand(workspaceId: string, createdAt: string, id = randomUUID()): CreateEndpoint {
  return {
    type: 'CreateEndpoint',
    endpointId: id,
    workspaceId,
    url: `https://hooks.example.com/${id}`,
    format: 'raw',
    events: ['customer.created'],
    secret: secret(),
    now: createdAt,
  };
}

const rotate = (now: string): EndpointCommand => ({
  type: 'RotateEndpointSecret',
  secret: secret(),
  secretGracePeriodMs: GRACE_MS,
  now,
});

function issueCommand(
  workspaceIds: string[],
  createdAt: string,
  userName: string | null = null,
): IssueAccessToken & { token: string } {
  const token = `rwh_${randomBytes(32).toString('base64url')}`;
  return {
    type: 'IssueAccessToken',
    tokenId: randomUUID(),
    kind: userName ? 'user' : 'workspace',
    userName,
    workspaceIds,
    scopes: ['webhooks:read', 'webhooks:write'],
    tokenHash: hashToken(token),
    now: createdAt,
    token,
  };
}

/** Newest first, ties broken by id descending: the order every list promises. */
function newestFirst<T extends { id: string; createdAt: string }>(a: T, b: T): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/**
 * The read-model repositories' contract (endpoints, access tokens) and the projection runner
 * feeding them, written once and run against every engine; the deliveries and due-work contracts
 * (deliveries.contract.ts, due-work.contract.ts) run with it. Events go through the real write
 * path (executeOnStream with the aggregates' own decide), then `projections.waitFor`.
 */
export function readModelsContract(name: string, storage: ContractStorage): void {
  describe(`Read-model repositories contract: ${name}`, () => {
    let storages: Storages;
    let storageId: string;
    let engine: Engine;

    beforeEach(async () => {
      storages = new Storages(storage);
      storageId = await storages.create();
      engine = await storages.openEngine(storageId);
    });
    afterEach(() => storages.release());

    /** Writes through `engine`'s store and waits until its projections include the change. */
    async function write(id: string, command: EndpointCommand): Promise<Endpoint> {
      const position = await onEndpoint(engine.eventStore, id, command);
      await within(engine.projections.waitFor(position), `projections to reach ${position}`);
      return (await foldEndpoint(engine.eventStore, id))!;
    }

    async function expectReadModelMatchesStreams(ids: readonly string[]): Promise<void> {
      for (const id of ids) {
        expect(await engine.endpoints.findById(id)).toEqual(
          await foldEndpoint(engine.eventStore, id),
        );
      }
    }

    describe('endpoints', () => {
      it('finds an endpoint by id after create, update, disable, enable, rotation and delete', async () => {
        const workspaceId = randomUUID();
        const create = createCommand(workspaceId, at(0));
        const id = create.endpointId;
        expect(await engine.endpoints.findById(id)).toBeNull();

        await write(id, create);
        expect(await engine.endpoints.findById(id)).toEqual({
          id,
          workspaceId,
          url: create.url,
          format: 'raw',
          events: ['customer.created'],
          secret: create.secret,
          previousSecret: null,
          previousSecretExpiresAt: null,
          enabled: true,
          enabledAt: at(0),
          createdAt: at(0),
          modifiedAt: null,
          deletedAt: null,
        });

        await write(id, {
          type: 'UpdateEndpoint',
          url: 'https://other.example.com/hook',
          format: 'slack',
          events: ['share.created', 'customer.deleted'],
          secretGracePeriodMs: GRACE_MS,
          now: at(10),
        });
        expect(await engine.endpoints.findById(id)).toMatchObject({
          url: 'https://other.example.com/hook',
          format: 'slack',
          events: ['share.created', 'customer.deleted'],
          createdAt: at(0),
          modifiedAt: at(10),
          enabled: true,
        });

        const disable = { type: 'UpdateEndpoint', secretGracePeriodMs: GRACE_MS } as const;
        await write(id, { ...disable, enabled: false, now: at(20) });
        expect(await engine.endpoints.findById(id)).toMatchObject({
          enabled: false,
          modifiedAt: at(20),
        });
        await write(id, { ...disable, enabled: true, now: at(30) });
        expect(await engine.endpoints.findById(id)).toMatchObject({
          enabled: true,
          enabledAt: at(30),
          modifiedAt: at(30),
        });

        const rotation = rotate(at(40));
        await write(id, rotation);
        expect(await engine.endpoints.findById(id)).toMatchObject({
          secret: (rotation as { secret: string }).secret,
          previousSecret: create.secret,
          previousSecretExpiresAt: new Date(Date.parse(at(40)) + GRACE_MS).toISOString(),
          modifiedAt: at(40),
        });
        await expectReadModelMatchesStreams([id]);

        await write(id, { type: 'DeleteEndpoint', now: at(50) });
        const deleted = await engine.endpoints.findById(id);
        expect(deleted).toMatchObject({ id, deletedAt: at(50), enabled: false });
        await expectReadModelMatchesStreams([id]);
        expect(
          await engine.endpoints.list({
            workspaceIds: [workspaceId],
            page: { page: 1, limit: 10 },
          }),
        ).toEqual({ items: [], total: 0 });
        expect(await engine.endpoints.findById(randomUUID())).toBeNull();
      });

      it('lists by workspace, newest first with ties broken by id, paged, never listing deleted ones', async () => {
        const workspaces = [randomUUID(), randomUUID(), randomUUID()];
        // 30 endpoints; createdAt repeats so ties (within and across workspaces) are common.
        const creates = Array.from({ length: 30 }, (_, i) =>
          createCommand(workspaces[i % 3], at(Math.floor(i / 4))),
        );
        const positions = await Promise.all(
          creates.map((c) => onEndpoint(engine.eventStore, c.endpointId, c)),
        );
        await engine.projections.waitFor(Math.max(...positions));
        const deletedIds = [creates[5], creates[17], creates[22]].map((c) => c.endpointId);
        for (const id of deletedIds) await write(id, { type: 'DeleteEndpoint', now: at(100) });
        await write(creates[3].endpointId, rotate(at(100)));

        const all: Endpoint[] = [];
        for (const c of creates) all.push((await foldEndpoint(engine.eventStore, c.endpointId))!);
        const oracle = (workspaceIds: string[]) =>
          all
            .filter((e) => workspaceIds.includes(e.workspaceId) && e.deletedAt === null)
            .sort(newestFirst);

        const queries = [
          [workspaces[0]],
          [workspaces[1], workspaces[2]],
          workspaces,
          [workspaces[2], randomUUID()],
        ];
        for (const workspaceIds of queries) {
          const expected = oracle(workspaceIds);
          expect(expected.length).toBeGreaterThan(0);
          for (const limit of [100, 10, 7, 1]) {
            const pages = Math.ceil(expected.length / limit);
            for (let page = 1; page <= pages + 1; page++) {
              const offset = (page - 1) * limit;
              const result = await engine.endpoints.list({ workspaceIds, page: { page, limit } });
              expect(result.total).toBe(expected.length);
              expect(result.items).toEqual(expected.slice(offset, offset + limit));
            }
          }
        }
        expect(oracle(workspaces)).toHaveLength(27);
        for (const workspaceIds of [[], [randomUUID()]]) {
          expect(
            await engine.endpoints.list({ workspaceIds, page: { page: 1, limit: 100 } }),
          ).toEqual({ items: [], total: 0 });
        }
        for (const id of deletedIds) {
          expect((await engine.endpoints.findById(id))?.deletedAt).toBe(at(100));
        }
      });
    });

    describe('access tokens', () => {
      it('finds tokens by hash and by id, lists them newest first, and shows revocation', async () => {
        const workspace = randomUUID();
        const issued = [
          issueCommand([workspace], at(1)),
          issueCommand([workspace, randomUUID()], at(2), 'alice'),
          issueCommand([randomUUID()], at(2)),
          issueCommand([workspace], at(0), 'bob'),
        ];
        for (const command of issued) {
          const position = await onToken(engine.eventStore, command.tokenId, command);
          await engine.projections.waitFor(position);
        }
        const expected = (command: (typeof issued)[number]): AccessToken => ({
          id: command.tokenId,
          kind: command.kind,
          userName: command.userName,
          workspaceIds: command.workspaceIds,
          scopes: command.scopes,
          tokenHash: command.tokenHash,
          createdAt: command.now,
          revokedAt: null,
        });

        for (const command of issued) {
          expect(await engine.accessTokens.findById(command.tokenId)).toEqual(expected(command));
          expect(await engine.accessTokens.findByHash(hashToken(command.token))).toEqual(
            expected(command),
          );
        }
        expect(await engine.accessTokens.findById(randomUUID())).toBeNull();
        expect(await engine.accessTokens.findByHash(hashToken('rwh_unknown'))).toBeNull();
        expect(await engine.accessTokens.list()).toEqual(issued.map(expected).sort(newestFirst));

        const revoked = issued[1];
        const position = await onToken(engine.eventStore, revoked.tokenId, {
          type: 'RevokeAccessToken',
          now: at(10),
        });
        await engine.projections.waitFor(position);

        const afterRevoke = { ...expected(revoked), revokedAt: at(10) };
        expect(await engine.accessTokens.findById(revoked.tokenId)).toEqual(afterRevoke);
        expect(await engine.accessTokens.findByHash(revoked.tokenHash)).toEqual(afterRevoke);
        const listed = await engine.accessTokens.list();
        expect(listed.filter((t) => t.revokedAt !== null).map((t) => t.id)).toEqual([
          revoked.tokenId,
        ]);
        expect(listed.map((t) => t.id)).toEqual(
          issued
            .map(expected)
            .sort(newestFirst)
            .map((t) => t.id),
        );
      });
    });

    describe('projection runner', () => {
      /** Endpoints over 2 workspaces, some updated, rotated and deleted, and a few tokens. */
      async function populate(): Promise<{ endpointIds: string[]; workspaces: string[] }> {
        const workspaces = [randomUUID(), randomUUID()];
        const creates = Array.from({ length: 12 }, (_, i) =>
          createCommand(workspaces[i % 2], at(i % 5)),
        );
        await Promise.all(creates.map((c) => onEndpoint(engine.eventStore, c.endpointId, c)));
        const ids = creates.map((c) => c.endpointId);
        for (const id of ids.slice(0, 4)) await onEndpoint(engine.eventStore, id, rotate(at(20)));
        await onEndpoint(engine.eventStore, ids[5], { type: 'DeleteEndpoint', now: at(21) });
        const tokens = [
          issueCommand([workspaces[0]], at(3)),
          issueCommand(workspaces, at(4), 'eve'),
        ];
        for (const t of tokens) await onToken(engine.eventStore, t.tokenId, t);
        await onToken(engine.eventStore, tokens[0].tokenId, {
          type: 'RevokeAccessToken',
          now: at(30),
        });
        await engine.projections.waitFor(await engine.eventStore.headPosition());
        return { endpointIds: ids, workspaces };
      }

      async function snapshot(endpointIds: readonly string[], workspaces: string[]) {
        return {
          endpoints: await Promise.all(endpointIds.map((id) => engine.endpoints.findById(id))),
          list: await engine.endpoints.list({
            workspaceIds: workspaces,
            page: { page: 1, limit: 100 },
          }),
          tokens: await engine.accessTokens.list(),
        };
      }

      async function expectCheckpointsAtHead(): Promise<void> {
        const head = await engine.eventStore.headPosition();
        const checkpoints = await engine.projections.checkpoints();
        expect(Object.keys(checkpoints).length).toBeGreaterThan(0);
        for (const position of Object.values(checkpoints)) expect(position).toBe(head);
      }

      it('rebuild() from position 0 reproduces identical read models', async () => {
        const { endpointIds, workspaces } = await populate();
        const before = await snapshot(endpointIds, workspaces);
        expect(before.list.total).toBe(11);
        expect(before.tokens).toHaveLength(2);

        await within(engine.projections.rebuild(), 'rebuild');

        expect(await snapshot(endpointIds, workspaces)).toEqual(before);
        await expectCheckpointsAtHead();
        await expectReadModelMatchesStreams(endpointIds);
        // The runner keeps projecting new writes after a rebuild.
        const create = createCommand(workspaces[0], at(50));
        await write(create.endpointId, create);
        expect(await engine.endpoints.findById(create.endpointId)).not.toBeNull();
      });

      it('after re-open, catches up from its stored checkpoint, applying every event exactly once', async () => {
        const { endpointIds, workspaces } = await populate();
        await expectCheckpointsAtHead();
        await storages.close(engine);

        // Appended while no projection runs: rotations are not idempotent, so an event applied
        // twice would show as a wrong previousSecret.
        const offline = await storages.openEventStore(storageId);
        for (const id of endpointIds.slice(2, 8)) {
          if (id === endpointIds[5]) continue;
          await onEndpoint(offline.store, id, rotate(at(40)));
          await onEndpoint(offline.store, id, rotate(at(41)));
        }
        const more = Array.from({ length: 5 }, (_, i) => createCommand(workspaces[1], at(42 + i)));
        for (const c of more) await onEndpoint(offline.store, c.endpointId, c);
        await onEndpoint(offline.store, endpointIds[0], { type: 'DeleteEndpoint', now: at(50) });
        const token = issueCommand([workspaces[1]], at(51));
        await onToken(offline.store, token.tokenId, token);
        await storages.close(offline);

        engine = await storages.openEngine(storageId);
        await within(
          engine.projections.waitFor(await engine.eventStore.headPosition()),
          'the reopened projections to catch up',
        );

        const allIds = [...endpointIds, ...more.map((c) => c.endpointId)];
        await expectReadModelMatchesStreams(allIds);
        await expectCheckpointsAtHead();
        const listed = await engine.endpoints.list({
          workspaceIds: workspaces,
          page: { page: 1, limit: 100 },
        });
        expect(listed.total).toBe(12 + 5 - 2);
        expect(listed.items.map((e) => e.id).sort()).toEqual(
          allIds.filter((id) => id !== endpointIds[0] && id !== endpointIds[5]).sort(),
        );
        expect(await engine.accessTokens.findByHash(token.tokenHash)).toMatchObject({
          id: token.tokenId,
          revokedAt: null,
        });
        expect(await engine.accessTokens.list()).toHaveLength(3);

        // Live again: further writes through the reopened engine are applied once as well.
        for (const id of endpointIds.slice(6, 10)) await write(id, rotate(at(60)));
        await expectReadModelMatchesStreams(allIds);
        expect(
          (await engine.endpoints.list({ workspaceIds: workspaces, page: { page: 1, limit: 100 } }))
            .total,
        ).toBe(15);
      });
    });
  });

  deliveriesContract(name, storage);
  dueWorkContract(name, storage);
}
