import { HttpStatus, Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { canAccessWorkspace, Principal } from '../auth/principal';
import { nowIso } from '../common/clock';
import { ApiError, notFound } from '../common/errors';
import {
  WebhookEvent,
  WebhookEventEvent,
  decideRedeliver,
  evolve,
  webhookEventStream,
} from '../delivery/webhook-event';
import { Engine, ENGINE } from '../engine/engine';
import { executeOnStream } from '../eventstore/command-execution';
import { RecoveryWindow, needsRecovery } from './recovery';

export class RecoverEndpointCommand {
  constructor(
    readonly principal: Principal,
    readonly endpointId: string,
    readonly window: RecoveryWindow,
  ) {}
}

/** Redeliveries asked for by one call, and failed events it looks at: a call stays bounded. */
export const MAX_RECOVERED = 1_000;
export const MAX_EXAMINED = 10_000;
const PAGE = 100;

/** The decider's state is the stream itself: whether to recover depends on its whole story. */
const history = {
  initialState: [] as WebhookEventEvent[],
  evolve: (events: WebhookEventEvent[], event: WebhookEventEvent) => [...events, event],
};

/**
 * Redelivers the endpoint's webhook events whose retries ran out within the window and that
 * have not been redelivered since (see needsRecovery), newest first, each with a fresh retry
 * budget; decided on each event's own stream, so a concurrent redelivery is not repeated.
 */
@CommandHandler(RecoverEndpointCommand)
export class RecoverEndpointHandler implements ICommandHandler<
  RecoverEndpointCommand,
  { count: number; more: boolean }
> {
  constructor(@Inject(ENGINE) private readonly engine: Engine) {}

  async execute({ principal, endpointId, window }: RecoverEndpointCommand) {
    const endpoint = await this.engine.endpoints.findById(endpointId);
    if (!endpoint || endpoint.deletedAt || !canAccessWorkspace(principal, endpoint.workspaceId)) {
      throw notFound();
    }
    if (!endpoint.enabled) {
      throw new ApiError(HttpStatus.UNPROCESSABLE_ENTITY, {
        error: 'EndpointDisabled',
        detail: 'The endpoint is disabled: enable it before recovering its failed events',
      });
    }
    let count = 0;
    let examined = 0;
    let last: number | null = null;
    for (let page = 1; ; page++) {
      const { items } = await this.engine.deliveries.listEvents({
        workspaceIds: [endpoint.workspaceId],
        endpointIds: [endpointId],
        succeeded: false,
        page: { page, limit: PAGE },
      });
      for (const event of items) {
        if (count >= MAX_RECOVERED || examined >= MAX_EXAMINED) {
          await this.settle(last);
          return { count, more: true };
        }
        examined += 1;
        const result = await executeOnStream(
          this.engine.eventStore,
          webhookEventStream(event.id),
          history,
          (events) =>
            needsRecovery(events, window)
              ? decideRedeliver(events.reduce<WebhookEvent | null>(evolve, null), {
                  type: 'RedeliverWebhookEvent',
                  endpointEnabled: true,
                  now: nowIso(),
                })
              : [],
        );
        if (result.position !== null) {
          count += 1;
          last = result.position;
        }
      }
      if (items.length < PAGE) break;
    }
    await this.settle(last);
    return { count, more: false };
  }

  /** Read-your-writes: the answer comes once the read models show the redeliveries. */
  private async settle(position: number | null): Promise<void> {
    if (position !== null) await this.engine.projections.waitFor(position);
  }
}
