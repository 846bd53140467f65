import type { Statement } from 'better-sqlite3';
import { RecordedEvent } from '../../eventstore/event-store';
import { ReadCache } from '../../eventstore/sqlite/read-cache';
import { SqliteDatabase } from '../../eventstore/sqlite/sqlite-database';
import { TableNames } from '../../projections/sqlite/schema';
import { SqliteProjection } from '../../projections/sqlite/sqlite-projection';
import { ACCESS_TOKEN_STREAM_PREFIX, AccessToken, AccessTokenEvent, evolve } from '../access-token';
import { AccessTokensRepository } from '../access-tokens.repository';

export class SqliteAccessTokens implements SqliteProjection, AccessTokensRepository {
  readonly name = 'access_tokens';
  readonly filter = { streamPrefixes: [ACCESS_TOKEN_STREAM_PREFIX] };
  private readonly byId: Statement<[string], { doc: string }>;
  private readonly byHash: Statement<[string], { doc: string }>;
  private readonly all: Statement<[], { doc: string }>;
  private readonly upsert: Statement<[string, string, string, string]>;
  /** Tokens by hash: every authenticated request reads one. */
  private readonly byHashCache: ReadCache<AccessToken | null>;

  readonly tables: readonly string[];
  private readonly table: string;

  constructor(
    private readonly db: SqliteDatabase,
    names = new TableNames(),
  ) {
    const table = names.of('access_tokens');
    this.table = table;
    this.tables = [table];
    db.exec(`
      CREATE TABLE IF NOT EXISTS ${table} (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        doc TEXT NOT NULL
      );
    `);
    this.byHashCache = new ReadCache(db);
    this.byId = db.prepare(`SELECT doc FROM ${table} WHERE id = ?`);
    this.byHash = db.prepare(`SELECT doc FROM ${table} WHERE token_hash = ?`);
    this.all = db.prepare(`SELECT doc FROM ${table} ORDER BY created_at DESC, id DESC`);
    this.upsert = db.prepare(
      `INSERT INTO ${table} (id, token_hash, created_at, doc) VALUES (?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET doc = excluded.doc`,
    );
  }

  apply(event: RecordedEvent): void {
    const next = evolve(
      this.findByIdSync(String(event.data.tokenId)),
      event as unknown as AccessTokenEvent,
    );
    if (!next) return;
    this.byHashCache.clear();
    this.upsert.run(next.id, next.tokenHash, next.createdAt, JSON.stringify(next));
  }

  reset(): void {
    this.db.exec(`DELETE FROM ${this.table}`);
    this.byHashCache.clear();
  }

  async findByHash(tokenHash: string): Promise<AccessToken | null> {
    return this.byHashCache.get(tokenHash, () => parse(this.byHash.get(tokenHash)));
  }

  async findById(id: string): Promise<AccessToken | null> {
    return this.findByIdSync(id);
  }

  private findByIdSync(id: string): AccessToken | null {
    return parse(this.byId.get(id));
  }

  async list(): Promise<AccessToken[]> {
    return this.all.all().map((row) => JSON.parse(row.doc) as AccessToken);
  }
}

function parse(row: { doc: string } | undefined): AccessToken | null {
  return row ? (JSON.parse(row.doc) as AccessToken) : null;
}
