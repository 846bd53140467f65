import { SqliteAccessTokens } from '../../auth/sqlite/sqlite-access-tokens';
import { SqliteDeliveries } from '../../deliveries/sqlite/sqlite-deliveries';
import { SqliteDueWork } from '../../delivery/sqlite/sqlite-due-work';
import { SqliteEndpoints } from '../../endpoints/sqlite/sqlite-endpoints';
import { SqliteDatabase } from '../../eventstore/sqlite/sqlite-database';
import { TableNames } from './schema';
import { SqliteProjection } from './sqlite-projection';

export interface SqliteReadModels {
  endpoints: SqliteEndpoints;
  accessTokens: SqliteAccessTokens;
  deliveries: SqliteDeliveries;
  dueWork: SqliteDueWork;
  /** All of them, in the order the runner applies them. */
  all: SqliteProjection[];
}

/**
 * Every embedded read model on `db`: the live tables, or (with a suffix) a replay's shadow
 * copies, or a verification's scratch file. `durableHead` bounds the work the queue hands out.
 */
export function createSqliteReadModels(
  db: SqliteDatabase,
  durableHead?: () => number,
  names = new TableNames(),
): SqliteReadModels {
  const endpoints = new SqliteEndpoints(db, names);
  const accessTokens = new SqliteAccessTokens(db, names);
  const deliveries = new SqliteDeliveries(db, names);
  const dueWork = new SqliteDueWork(db, durableHead, names);
  return {
    endpoints,
    accessTokens,
    deliveries,
    dueWork,
    all: [endpoints, accessTokens, deliveries, dueWork],
  };
}
