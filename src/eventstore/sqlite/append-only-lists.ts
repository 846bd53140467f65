import type { Statement } from 'better-sqlite3';
import { Conditions } from './sql-conditions';
import { SqliteDatabase } from './sqlite-database';

/** A list request: which rows, and which page of them (newest first). */
export interface ListRequest {
  /** Every matching row, as one condition on the table's alias (for counts and new rows). */
  where: Conditions;
  /**
   * The same rows split into disjoint parts, each of which an index yields newest first (one
   * workspace, one endpoint): their walks are merged, so no page needs a sort of the whole set.
   */
  parts: Conditions[];
  offset: number;
  limit: number;
}

/** `[rowid, created_at, id]`: a row's place in the newest-first order. */
type Place = [number, string, string];

/** A row of a long list whose position is known: walks to the pages near it start there. */
interface Mark {
  /** 0 for the newest row. */
  position: number;
  createdAt: string;
  id: string;
}

/** What is known of one list (one `where`) up to a rowid. */
interface Entry {
  /** Every row up to this rowid is counted. */
  upTo: number;
  total: number;
  /** The whole list, newest first, while it is short: its pages are slices. */
  places: Place[] | null;
  /** A long list's rows at the start of the pages walked to from afar, by position. */
  marks: Mark[];
}

/**
 * Where a walk starts: an end of the list or a mark, the direction, and how many rows it skips
 * from there; `AROUND`: a mark within the page, walked from in both directions.
 */
interface Start {
  direction: 'DESC' | 'ASC' | 'AROUND';
  from: Mark | null;
  skip: number;
}

export interface AppendOnlyListsOptions {
  /** A list this short is kept whole: a search that finds a few rows in many needs no walk. */
  smallList?: number;
  /** Past this many rows added since a list was counted, it is counted again from its index. */
  maxAdded?: number;
  /** A walk that skipped more rows than this leaves a mark at its page. */
  markAfter?: number;
}

const MAX_ENTRIES = 128;
const MAX_STATEMENTS = 256;
const MAX_MARKS = 1_000;

/**
 * Exact totals and newest-first pages (`created_at DESC, id DESC`) of an append-only table: rows
 * are inserted, never updated nor deleted (except all at once, by `clear`'s caller), and each new
 * row has a larger rowid than every row before it.
 *
 * Counting a list of 100,000 rows walks 100,000 index entries, tens of milliseconds on every
 * request. Here each list's total is counted once and then kept up to date from the rows added
 * since, found by rowid (`rowid > upTo`: usually none, or a few); a short list is kept whole, so
 * that its pages need no walk at all. The total and the page always come from one read
 * transaction, so they agree. A page of a long list is walked to along the index from the nearest
 * row whose position is known: an end of the list, or a mark left by an earlier walk that came
 * from afar (its position moves as newer rows are added). A deep page costs a long walk once.
 *
 * Another connection writing the file (another process: a replay, the CLI) could change rows under
 * the kept totals: whenever the database's data or schema version changes, everything kept is
 * dropped and counted again.
 */
export class AppendOnlyLists {
  private readonly entries = new Map<string, Entry>();
  private readonly statements = new Map<string, Statement>();
  private readonly maxRowid: Statement<[], number | null>;
  /** A read transaction: the total and the page's rows from one snapshot. */
  private readonly inSnapshot: (
    request: ListRequest,
    rows: (rowids: number[]) => unknown[],
  ) => { items: unknown[]; total: number };
  private versions = '';
  private readonly smallList: number;
  private readonly maxAdded: number;
  private readonly markAfter: number;

  constructor(
    private readonly db: SqliteDatabase,
    /** The table and its alias as the conditions name it, e.g. `deliveries d`. */
    private readonly from: string,
    private readonly alias: string,
    options: AppendOnlyListsOptions = {},
  ) {
    this.smallList = options.smallList ?? 1_000;
    this.maxAdded = options.maxAdded ?? 10_000;
    this.markAfter = options.markAfter ?? 100;
    this.maxRowid = db.prepare<[], number | null>(`SELECT max(rowid) FROM ${from}`).pluck();
    this.inSnapshot = db.transaction(
      (request: ListRequest, rows: (rowids: number[]) => unknown[]) => {
        const { rowids, total } = this.pageInSnapshot(request);
        return { items: rowids.length > 0 ? rows(rowids) : [], total };
      },
    );
  }

  /** The page's rows, newest first (`rows` reads them by rowid, in that order), and the total. */
  page<T>(request: ListRequest, rows: (rowids: number[]) => T[]): { items: T[]; total: number } {
    return this.inSnapshot(request, rows) as { items: T[]; total: number };
  }

  /** Forgets every list: the table was emptied. */
  clear(): void {
    this.entries.clear();
  }

  private pageInSnapshot(request: ListRequest): { rowids: number[]; total: number } {
    this.dropIfChangedElsewhere();
    const head = this.maxRowid.get() ?? 0;
    const key = `${request.where.sql()}\n${JSON.stringify(request.where.params)}`;
    let entry = this.entries.get(key);
    this.entries.delete(key);
    if (entry && entry.upTo < head) entry = this.catchUp(entry, request, head);
    entry ??= this.count(request, head);
    this.entries.set(key, entry);
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);

    const { offset, limit } = request;
    if (entry.places) {
      return {
        rowids: entry.places.slice(offset, offset + limit).map((place) => place[0]),
        total: entry.places.length,
      };
    }
    return { rowids: this.walk(request, entry), total: entry.total };
  }

  /** A list not known yet: walked whole if it is short, else counted. */
  private count(request: ListRequest, head: number): Entry {
    const first = this.walkStatement(request.parts, 'DESC')
      .raw()
      .all(...this.walkParams(request.parts, this.smallList + 1, 0)) as Place[];
    if (first.length <= this.smallList) {
      return { upTo: head, total: first.length, places: first, marks: [] };
    }
    const { where } = request;
    const total = this.statement(`SELECT count(*) FROM ${this.from} WHERE ${where.sql()}`)
      .pluck()
      .get(...where.params) as number;
    return { upTo: head, total, places: null, marks: [] };
  }

  /** Adds the rows inserted since the entry was made; undefined when there are too many. */
  private catchUp(entry: Entry, request: ListRequest, head: number): Entry | undefined {
    if (head - entry.upTo > this.maxAdded) return undefined;
    const { where } = request;
    if (entry.places) {
      const places = [...entry.places, ...this.addedPlaces(entry, where)].sort(comparePlaces);
      return {
        upTo: head,
        total: places.length,
        places: places.length <= this.smallList ? places : null,
        marks: [],
      };
    }
    const added = this.addedCount(entry, where);
    if (entry.marks.length > 0) {
      // Each mark moves down by the rows added that are newer than it: usually all of them. Only
      // the few older than the newest mark are read, to tell which marks they come after.
      const older = this.addedPlaces(entry, where, entry.marks[0])
        .map((place) => markOf(place, 0))
        .sort(compareMarks);
      for (const mark of entry.marks) {
        mark.position += added - (older.length - countBefore(older, mark));
      }
    }
    return { ...entry, upTo: head, total: entry.total + added };
  }

  /** The rows inserted since the entry's `upTo` that match `where` (older than `olderThan`). */
  private addedPlaces(entry: Entry, where: Conditions, olderThan?: Mark): Place[] {
    const a = this.alias;
    const older = olderThan ? ` AND (${a}.created_at, ${a}.id) < (?, ?)` : '';
    return this.statement(
      `SELECT ${a}.rowid, ${a}.created_at, ${a}.id FROM ${this.from} NOT INDEXED
       WHERE ${a}.rowid > ? AND ${where.sql()}${older}`,
    )
      .raw()
      .all(
        entry.upTo,
        ...where.params,
        ...(olderThan ? [olderThan.createdAt, olderThan.id] : []),
      ) as Place[];
  }

  /** How many rows inserted since the entry's `upTo` match `where`. */
  private addedCount(entry: Entry, where: Conditions): number {
    // NOT INDEXED (here and above): the rowid range is the way in, not an index of the conditions.
    return this.statement(
      `SELECT count(*) FROM ${this.from} NOT INDEXED WHERE ${this.alias}.rowid > ? AND ${where.sql()}`,
    )
      .pluck()
      .get(entry.upTo, ...where.params) as number;
  }

  /** The page's rowids, walked to from the nearest known row; a long walk leaves a mark. */
  private walk({ parts, offset, limit }: ListRequest, entry: Entry): number[] {
    const end = Math.min(offset + limit, entry.total);
    if (offset >= end) return [];
    const start = nearestStart(entry, offset, end);
    let rows: Place[];
    if (start.direction === 'AROUND') {
      // A mark within the page (it moved down as rows were added): the rows up to it, and after.
      const mark = start.from!;
      rows = [
        ...this.walkFrom(parts, 'ASC', '>=', mark, mark.position - offset + 1, 0).reverse(),
        ...this.walkFrom(parts, 'DESC', '<', mark, end - 1 - mark.position, 0),
      ];
    } else if (start.direction === 'DESC') {
      rows = this.walkFrom(parts, 'DESC', '<=', start.from, end - offset, start.skip);
    } else {
      rows = this.walkFrom(parts, 'ASC', '>=', start.from, end - offset, start.skip).reverse();
    }
    if (start.skip > this.markAfter && rows.length > 0) addMark(entry, markOf(rows[0], offset));
    return rows.map((row) => row[0]);
  }

  /** `limit` rows after skipping `skip`, in `direction` from an end, or from `mark` (`bound`). */
  private walkFrom(
    parts: readonly Conditions[],
    direction: 'ASC' | 'DESC',
    bound: '<=' | '<' | '>=',
    mark: Mark | null,
    limit: number,
    skip: number,
  ): Place[] {
    const params = parts.flatMap((part) => [
      ...part.params,
      ...(mark ? [mark.createdAt, mark.id] : []),
    ]);
    return this.walkStatement(parts, direction, mark ? bound : '')
      .raw()
      .all(...params, limit, skip) as Place[];
  }

  /**
   * The parts' rows in order, merged, from the newest or the oldest; with a bound, only those on
   * one side of a mark (`(created_at, id) <= (?, ?)`, the mark's key after each part's
   * parameters). `LIMIT ? OFFSET ?` come after all the parts' parameters.
   */
  private walkStatement(
    parts: readonly Conditions[],
    direction: 'ASC' | 'DESC',
    bound: '' | '<=' | '<' | '>=' = '',
  ): Statement {
    const a = this.alias;
    const from = bound ? ` AND (${a}.created_at, ${a}.id) ${bound} (?, ?)` : '';
    const selects = parts.map(
      (part) =>
        `SELECT ${a}.rowid AS place_rowid, ${a}.created_at AS place_created_at, ${a}.id AS place_id
         FROM ${this.from} WHERE ${part.sql()}${from}`,
    );
    return this.statement(
      `${selects.join(' UNION ALL ')}
       ORDER BY place_created_at ${direction}, place_id ${direction} LIMIT ? OFFSET ?`,
    );
  }

  private walkParams(parts: readonly Conditions[], limit: number, offset: number): unknown[] {
    return [...parts.flatMap((part) => part.params), limit, offset];
  }

  private statement(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      if (this.statements.size >= MAX_STATEMENTS) this.statements.clear();
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Drops everything kept once another connection has written the file or changed its schema. */
  private dropIfChangedElsewhere(): void {
    const versions = `${this.db.pragma('data_version', { simple: true })}/${this.db.pragma('schema_version', { simple: true })}`;
    if (versions !== this.versions) {
      this.entries.clear();
      this.statements.clear();
      this.versions = versions;
    }
  }
}

/**
 * The cheapest start for the rows [offset, end): from the newest end or the nearest mark at or
 * above `offset` (itself the first row walked), walking down; from the oldest end or the nearest
 * mark at or below `end - 1`, walking up; or from a mark within the page.
 */
function nearestStart(entry: Entry, offset: number, end: number): Start {
  const { marks, total } = entry;
  // The first mark past `offset`, by binary search.
  let lo = 0;
  let hi = marks.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (marks[mid].position <= offset) lo = mid + 1;
    else hi = mid;
  }
  const above = lo > 0 ? marks[lo - 1] : null;
  const next = lo < marks.length ? marks[lo] : null;
  if (next && next.position < end - 1) return { direction: 'AROUND', from: next, skip: 0 };
  const down: Start = { direction: 'DESC', from: above, skip: offset - (above?.position ?? 0) };
  const up: Start = {
    direction: 'ASC',
    from: next,
    skip: next ? next.position - (end - 1) : total - end,
  };
  return up.skip < down.skip ? up : down;
}

function addMark(entry: Entry, mark: Mark): void {
  const { marks } = entry;
  if (marks.length >= MAX_MARKS) marks.splice(0, marks.length);
  const at = marks.findIndex((m) => m.position >= mark.position);
  if (at === -1) marks.push(mark);
  else if (marks[at].position !== mark.position) marks.splice(at, 0, mark);
}

function markOf(place: Place, position: number): Mark {
  return { position, createdAt: place[1], id: place[2] };
}

/** Newest first: by `created_at`, then `id`, both descending (as SQLite compares ASCII text). */
function newestFirst(aCreatedAt: string, aId: string, bCreatedAt: string, bId: string): number {
  if (aCreatedAt !== bCreatedAt) return aCreatedAt < bCreatedAt ? 1 : -1;
  return aId < bId ? 1 : aId > bId ? -1 : 0;
}

function compareMarks(a: Mark, b: Mark): number {
  return newestFirst(a.createdAt, a.id, b.createdAt, b.id);
}

function comparePlaces(a: Place, b: Place): number {
  return newestFirst(a[1], a[2], b[1], b[2]);
}

/** How many of `sorted` (newest first) come before `mark`. */
function countBefore(sorted: readonly Mark[], mark: Mark): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareMarks(sorted[mid], mark) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
