import { HttpStatus, Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { canAccessWorkspace, Principal } from '../auth/principal';
import { nowIso } from '../common/clock';
import { ApiError, notFound } from '../common/errors';
import {
  WebhookEvent,
  WebhookEventArchivedError,
  WebhookEventEvent,
  WebhookEventNotFoundError,
  decideRedeliver,
  evolve,
  webhookEventStream,
} from '../delivery/webhook-event';
import { Engine, ENGINE } from '../engine/engine';
import { executeOnStream } from '../eventstore/command-execution';

export class RedeliverEventCommand {
  constructor(
    readonly principal: Principal,
    readonly webhookEventId: string,
  ) {}
}

const decider = { evolve, initialState: null as WebhookEvent | null };

/**
 * Records a redelivery request on the event's stream; the delivery engine turns it into a new
 * attempt. A disabled or deleted endpoint gets nothing: the event is marked skipped instead.
 */
@CommandHandler(RedeliverEventCommand)
export class RedeliverEventHandler implements ICommandHandler<RedeliverEventCommand, void> {
  constructor(@Inject(ENGINE) private readonly engine: Engine) {}

  async execute({ principal, webhookEventId }: RedeliverEventCommand): Promise<void> {
    const event = await this.engine.deliveries.findEvent(webhookEventId);
    if (!event || !canAccessWorkspace(principal, event.workspaceId)) throw notFound();
    const endpoint = await this.engine.endpoints.findById(event.endpointId);
    const endpointEnabled = !!endpoint && endpoint.enabled && !endpoint.deletedAt;
    try {
      const result = await executeOnStream<WebhookEvent | null, WebhookEventEvent>(
        this.engine.eventStore,
        webhookEventStream(webhookEventId),
        decider,
        (state) =>
          decideRedeliver(state, { type: 'RedeliverWebhookEvent', endpointEnabled, now: nowIso() }),
      );
      if (result.position !== null) await this.engine.projections.waitFor(result.position);
    } catch (error) {
      if (error instanceof WebhookEventNotFoundError) throw notFound();
      if (error instanceof WebhookEventArchivedError) {
        throw new ApiError(HttpStatus.UNPROCESSABLE_ENTITY, {
          error: 'WebhookEventArchived',
          detail: error.message,
        });
      }
      throw error;
    }
  }
}
