import type { Statement } from 'better-sqlite3';
import { offsetOf } from '../../common/pagination';
import { RecordedEvent } from '../../eventstore/event-store';
import { SqliteDatabase } from '../../eventstore/sqlite/sqlite-database';
import { ReadCache } from '../../eventstore/sqlite/read-cache';
import { Conditions, selectPage } from '../../eventstore/sqlite/sql-conditions';
import { TableNames, ensureIndexes } from '../../projections/sqlite/schema';
import { SqliteProjection } from '../../projections/sqlite/sqlite-projection';
import { ENDPOINT_STREAM_PREFIX, Endpoint, EndpointEvent, evolve } from '../endpoint';
import { EndpointListQuery, EndpointsRepository } from '../endpoints.repository';

/** The table, named for the live read model or a replay's shadow copy of it. */
function createSchema(db: SqliteDatabase, names: TableNames): string {
  const table = names.of('endpoints');
  db.exec(`
    CREATE TABLE IF NOT EXISTS ${table} (
      id TEXT PRIMARY KEY,
      workspace_id TEXT NOT NULL,
      created_at TEXT NOT NULL,
      deleted INTEGER NOT NULL,
      doc TEXT NOT NULL
    );
  `);
  ensureIndexes(db, names, table, {
    endpoints_by_workspace: '(workspace_id, deleted, created_at DESC, id DESC)',
  });
  return table;
}

/** The endpoints read model in the embedded database: the projection and its queries. */
export class SqliteEndpoints implements SqliteProjection, EndpointsRepository {
  readonly name = 'endpoints';
  readonly filter = { streamPrefixes: [ENDPOINT_STREAM_PREFIX] };
  private readonly select: Statement<[string], { doc: string }>;
  private readonly selectLive: Statement<[string], { doc: string }>;
  private readonly upsert: Statement<[string, string, string, number, string]>;
  /** Endpoints by id and live endpoints by workspace: read for every publish and delivery. */
  private readonly cache: ReadCache<Endpoint | null | Endpoint[]>;

  readonly tables: readonly string[];
  private readonly table: string;

  constructor(
    private readonly db: SqliteDatabase,
    names = new TableNames(),
  ) {
    const table = createSchema(db, names);
    this.table = table;
    this.tables = [table];
    this.cache = new ReadCache(db);
    this.select = db.prepare(`SELECT doc FROM ${table} WHERE id = ?`);
    this.selectLive = db.prepare(`SELECT doc FROM ${table} WHERE workspace_id = ? AND deleted = 0`);
    this.upsert = db.prepare(
      `INSERT INTO ${table} (id, workspace_id, created_at, deleted, doc) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET deleted = excluded.deleted, doc = excluded.doc`,
    );
  }

  apply(event: RecordedEvent): void {
    const id = String(event.data.endpointId);
    const current = this.findByIdSync(id);
    const next = evolve(current, event as unknown as EndpointEvent);
    if (!next) return;
    this.cache.clear();
    this.upsert.run(
      next.id,
      next.workspaceId,
      next.createdAt,
      next.deletedAt ? 1 : 0,
      JSON.stringify(next),
    );
  }

  reset(): void {
    this.db.exec(`DELETE FROM ${this.table}`);
    this.cache.clear();
  }

  async findById(id: string): Promise<Endpoint | null> {
    return this.cache.get(`id ${id}`, () => this.findByIdSync(id)) as Endpoint | null;
  }

  private findByIdSync(id: string): Endpoint | null {
    const row = this.select.get(id);
    return row ? (JSON.parse(row.doc) as Endpoint) : null;
  }

  async listForWorkspace(workspaceId: string): Promise<Endpoint[]> {
    return this.cache.get(`workspace ${workspaceId}`, () =>
      this.selectLive.all(workspaceId).map((r) => JSON.parse(r.doc) as Endpoint),
    ) as Endpoint[];
  }

  async list({
    workspaceIds,
    page,
  }: EndpointListQuery): Promise<{ items: Endpoint[]; total: number }> {
    if (workspaceIds.length === 0) return { items: [], total: 0 };
    const { rows, total } = selectPage<{ doc: string }>(this.db, {
      columns: 'doc',
      from: this.table,
      where: new Conditions().anyOf('workspace_id', workspaceIds).add('deleted = 0'),
      orderBy: 'created_at DESC, id DESC',
      limit: page.limit,
      offset: offsetOf(page),
    });
    return { items: rows.map((r) => JSON.parse(r.doc) as Endpoint), total };
  }
}
