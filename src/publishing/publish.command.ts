import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { nowIso } from '../common/clock';
import { validationFailed } from '../common/errors';
import { uuidv7 } from '../common/ids';
import { WebhookEventType } from '../common/webhook-event-types';
import { DeliverySaga } from '../delivery/delivery-saga';
import { webhookEventCreated } from '../delivery/fan-out';
import { webhookEventStream } from '../delivery/webhook-event';
import { Engine, ENGINE } from '../engine/engine';
import { executeOnStream } from '../eventstore/command-execution';
import { Endpoint } from '../endpoints/endpoint';
import { WrongExpectedRevisionError } from '../eventstore/event-store';
import {
  IdempotencyKeyClaimed,
  WebhookPublished,
  decideIdempotency,
  idempotencyStream,
  publicationStream,
  requestHash,
  selectTargets,
} from './publication';

export class PublishEventCommand {
  constructor(
    readonly workspaceId: string,
    readonly eventType: WebhookEventType,
    readonly data: Record<string, unknown>,
    readonly idempotencyKey: string | undefined,
  ) {}
}

export interface PublicationResult {
  id: string;
  type: WebhookEventType;
  workspace_id: string;
  webhook_event_ids: string[];
}

const claimsDecider = {
  evolve: (claims: IdempotencyKeyClaimed[], event: IdempotencyKeyClaimed) => [...claims, event],
  initialState: [] as IdempotencyKeyClaimed[],
};

/**
 * Records the publication (one event naming every target) and its WebhookEvents, and returns
 * once they are readable. Without an Idempotency-Key every id is new, so the WebhookEvents are
 * appended with the publication in the same tick: the embedded store commits them in one
 * transaction, and the saga finds nothing left to fan out (it still completes a fan-out cut short
 * on an engine that commits streams one by one). With a key, the publication may lose a race to
 * the same key, so only the publication is appended and the saga fans it out; the same request
 * within 24 h answers the first publication again and fans out nothing new.
 */
@CommandHandler(PublishEventCommand)
export class PublishEventHandler implements ICommandHandler<
  PublishEventCommand,
  PublicationResult
> {
  constructor(
    @Inject(ENGINE) private readonly engine: Engine,
    private readonly saga: DeliverySaga,
  ) {}

  async execute(command: PublishEventCommand): Promise<PublicationResult> {
    const publicationId = command.idempotencyKey
      ? await this.claimKey(command, command.idempotencyKey)
      : uuidv7();
    const stream = publicationStream(publicationId);
    // Only a replayed Idempotency-Key can name a publication that already exists.
    if (command.idempotencyKey) {
      const existing = await this.engine.eventStore.readStream(stream);
      if (existing.length > 0) {
        return this.answer(existing[0].data as WebhookPublished['data'], existing[0].position);
      }
    }

    const endpoints = selectTargets(
      await this.engine.endpoints.listForWorkspace(command.workspaceId),
      command.workspaceId,
      command.eventType,
    );
    const published: WebhookPublished = {
      type: 'WebhookPublished',
      data: {
        publicationId,
        workspaceId: command.workspaceId,
        eventType: command.eventType,
        payloadData: command.data,
        timestamp: nowIso(),
        targets: endpoints.map((e) => ({ endpointId: e.id, webhookEventId: uuidv7() })),
      },
    };
    if (!command.idempotencyKey) return this.publishWithEvents(published, endpoints);
    try {
      const result = await this.engine.eventStore.append(stream, [published], 'no_stream');
      return await this.answer(published.data, result.position);
    } catch (error) {
      // The same key raced in another request: answer with the publication that won.
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
      const [winner] = await this.engine.eventStore.readStream(stream);
      return this.answer(winner.data as WebhookPublished['data'], winner.position);
    }
  }

  /** The publication and its WebhookEvents, appended together (see the class comment). */
  private async publishWithEvents(
    published: WebhookPublished,
    endpoints: readonly Endpoint[],
  ): Promise<PublicationResult> {
    const { data } = published;
    const results = await Promise.all([
      this.engine.eventStore.append(
        publicationStream(data.publicationId),
        [published],
        'no_stream',
      ),
      ...data.targets.map((target, i) =>
        this.engine.eventStore.append(
          webhookEventStream(target.webhookEventId),
          [webhookEventCreated(data, target, endpoints[i].format)],
          'no_stream',
        ),
      ),
    ]);
    await this.engine.projections.waitFor(Math.max(...results.map((r) => r.position)));
    return toResult(data);
  }

  /** The publication id this key stands for: a new one, or the first request's. */
  private async claimKey(command: PublishEventCommand, key: string): Promise<string> {
    const hash = requestHash({ type: command.eventType, data: command.data });
    let publicationId = uuidv7();
    await executeOnStream(
      this.engine.eventStore,
      idempotencyStream(command.workspaceId, key),
      claimsDecider,
      (claims) => {
        const decision = decideIdempotency(claims, hash, Date.now());
        if (decision.kind === 'mismatch') {
          throw validationFailed([
            {
              type: 'idempotency_key_reused',
              loc: ['header', 'idempotency-key'],
              msg: 'This Idempotency-Key was already used with a different request body in the last 24 hours',
              input: key,
            },
          ]);
        }
        if (decision.kind === 'replay') {
          publicationId = decision.publicationId;
          return [];
        }
        return [
          {
            type: 'IdempotencyKeyClaimed',
            data: { publicationId, requestHash: hash, claimedAt: nowIso() },
          },
        ];
      },
    );
    return publicationId;
  }

  private async answer(
    publication: WebhookPublished['data'],
    position: number,
  ): Promise<PublicationResult> {
    await this.saga.waitFor(position);
    return toResult(publication);
  }
}

function toResult(publication: WebhookPublished['data']): PublicationResult {
  return {
    id: publication.publicationId,
    type: publication.eventType,
    workspace_id: publication.workspaceId,
    webhook_event_ids: publication.targets.map((t) => t.webhookEventId),
  };
}
