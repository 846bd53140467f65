import { within } from '../common/promises';
import { AppConfig } from '../config/config';
import { safeErrorLine } from '../config/connection-strings';
import { Engine } from '../engine/engine';
import { Answer, assessReadiness, EngineNames, engineNames, Readiness } from './readiness';

/** How long an engine has to answer a probe: a hanging engine makes /ready fail, not hang. */
export const ENGINE_ANSWER_TIMEOUT_MS = 2000;

export interface EngineAnswers {
  head: Answer<number>;
  checkpoints: Answer<Record<string, number>>;
}

/**
 * Asks the engines the two cheap questions readiness and the lag metric need, through the
 * engine's own ports: the event store's head (one read from SQLite or EventStoreDB) and the
 * projections' checkpoints (one read from SQLite or MongoDB). Each answer is bounded in time,
 * and an error's message is scrubbed of the connection strings' credentials.
 */
export class EngineProbe {
  private readonly names: EngineNames;
  private readonly connectionStrings: string[];

  constructor(
    private readonly engine: Engine,
    private readonly config: AppConfig,
    private readonly timeoutMs = ENGINE_ANSWER_TIMEOUT_MS,
  ) {
    const { eventStoreDb, mongoDb } = config.engines;
    this.names = engineNames(config.engines);
    this.connectionStrings = [eventStoreDb?.connectionString, mongoDb?.uri].filter(
      (value): value is string => value !== undefined,
    );
  }

  async ask(): Promise<EngineAnswers> {
    const [head, checkpoints] = await Promise.all([
      this.answer(() => this.engine.eventStore.headPosition()),
      this.answer(() => this.engine.projections.checkpoints()),
    ]);
    return { head, checkpoints };
  }

  async readiness(): Promise<Readiness> {
    return assessReadiness({
      ...(await this.ask()),
      names: this.names,
      maxLag: this.config.operations.readyMaxLag,
    });
  }

  private async answer<T>(question: () => Promise<T>): Promise<Answer<T>> {
    try {
      return { value: await within(question(), this.timeoutMs) };
    } catch (error) {
      return { error: safeErrorLine(error, this.connectionStrings) };
    }
  }
}
