import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { canAccessWorkspace, Principal } from '../auth/principal';
import { nowIso } from '../common/clock';
import { notFound } from '../common/errors';
import { uuidv7 } from '../common/ids';
import { WebhookEventType } from '../common/webhook-event-types';
import { executeOnStream } from '../eventstore/command-execution';
import { Engine, ENGINE } from '../engine/engine';
import {
  Endpoint,
  EndpointCommand,
  EndpointEvent,
  EndpointFormat,
  EndpointNotFoundError,
  decide,
  endpointStream,
  evolve,
} from './endpoint';
import { ENDPOINT_SETTINGS, EndpointSettings, generateSecret } from './endpoint-settings';

export class CreateEndpointCommand {
  constructor(
    readonly workspaceId: string,
    readonly input: {
      url: string;
      format: EndpointFormat;
      events: WebhookEventType[];
      secret?: string;
    },
  ) {}
}

export class UpdateEndpointCommand {
  constructor(
    readonly principal: Principal,
    readonly endpointId: string,
    readonly changes: {
      url?: string;
      format?: EndpointFormat;
      events?: WebhookEventType[];
      secret?: string;
      enabled?: boolean;
    },
  ) {}
}

export class ResetEndpointSecretCommand {
  constructor(
    readonly principal: Principal,
    readonly endpointId: string,
  ) {}
}

export class DeleteEndpointCommand {
  constructor(
    readonly principal: Principal,
    readonly endpointId: string,
  ) {}
}

const decider = { evolve, initialState: null as Endpoint | null };

/**
 * Shared by every endpoint command: decide on the endpoint's stream, then wait until the
 * projections include the change so the caller's next read sees it (read-your-writes).
 * A foreign or deleted endpoint is a 404 whatever the command.
 */
abstract class EndpointCommandHandler {
  constructor(
    @Inject(ENGINE) protected readonly engine: Engine,
    @Inject(ENDPOINT_SETTINGS) protected readonly settings: EndpointSettings,
  ) {}

  protected async decideOn(
    endpointId: string,
    principal: Principal | null,
    command: EndpointCommand,
  ): Promise<Endpoint> {
    try {
      const result = await executeOnStream<Endpoint | null, EndpointEvent>(
        this.engine.eventStore,
        endpointStream(endpointId),
        decider,
        (state) => {
          if (state && principal && !canAccessWorkspace(principal, state.workspaceId)) {
            throw new EndpointNotFoundError();
          }
          return decide(state, command);
        },
      );
      if (result.position !== null) await this.engine.projections.waitFor(result.position);
      return result.state!;
    } catch (error) {
      if (error instanceof EndpointNotFoundError) throw notFound();
      throw error;
    }
  }
}

@CommandHandler(CreateEndpointCommand)
export class CreateEndpointHandler
  extends EndpointCommandHandler
  implements ICommandHandler<CreateEndpointCommand, Endpoint>
{
  async execute({ workspaceId, input }: CreateEndpointCommand): Promise<Endpoint> {
    const endpointId = uuidv7();
    return this.decideOn(endpointId, null, {
      type: 'CreateEndpoint',
      endpointId,
      workspaceId,
      url: this.settings.normaliseUrl(input.url),
      format: input.format,
      events: input.events,
      secret: input.secret ?? generateSecret(),
      now: nowIso(),
    });
  }
}

@CommandHandler(UpdateEndpointCommand)
export class UpdateEndpointHandler
  extends EndpointCommandHandler
  implements ICommandHandler<UpdateEndpointCommand, Endpoint>
{
  async execute({ principal, endpointId, changes }: UpdateEndpointCommand): Promise<Endpoint> {
    return this.decideOn(endpointId, principal, {
      type: 'UpdateEndpoint',
      ...changes,
      url: changes.url === undefined ? undefined : this.settings.normaliseUrl(changes.url),
      secretGracePeriodMs: this.settings.secretGracePeriodMs,
      now: nowIso(),
    });
  }
}

@CommandHandler(ResetEndpointSecretCommand)
export class ResetEndpointSecretHandler
  extends EndpointCommandHandler
  implements ICommandHandler<ResetEndpointSecretCommand, Endpoint>
{
  async execute({ principal, endpointId }: ResetEndpointSecretCommand): Promise<Endpoint> {
    return this.decideOn(endpointId, principal, {
      type: 'RotateEndpointSecret',
      secret: generateSecret(),
      secretGracePeriodMs: this.settings.secretGracePeriodMs,
      now: nowIso(),
    });
  }
}

@CommandHandler(DeleteEndpointCommand)
export class DeleteEndpointHandler
  extends EndpointCommandHandler
  implements ICommandHandler<DeleteEndpointCommand, Endpoint>
{
  async execute({ principal, endpointId }: DeleteEndpointCommand): Promise<Endpoint> {
    return this.decideOn(endpointId, principal, { type: 'DeleteEndpoint', now: nowIso() });
  }
}

export const ENDPOINT_COMMAND_HANDLERS = [
  CreateEndpointHandler,
  UpdateEndpointHandler,
  ResetEndpointSecretHandler,
  DeleteEndpointHandler,
];
