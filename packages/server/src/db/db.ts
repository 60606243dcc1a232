import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { DrizzleQueryError, Name, SQL, StringChunk, entityKind, sql } from 'drizzle-orm';
import * as schema from './schema.ts';
import { PGliteWorkerClient } from './pglite-client.ts';

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
/** A transaction handle; repos accept either. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type Executor = Db | Tx;

export interface Database {
  db: Db;
  kind: 'pglite' | 'postgres';
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type DbConfig = { kind: 'pglite'; dir: string | null } | { kind: 'postgres'; url: string; poolSize: number; preparedStatements?: boolean };

const migrationsFolder = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Opens the database and applies pending migrations (the same SQL on PGlite and PostgreSQL). */
export async function createDatabase(cfg: DbConfig, opts: { migrate?: boolean } = {}): Promise<Database> {
  const migrate = opts.migrate ?? true;
  if (cfg.kind === 'pglite') {
    const { drizzle } = await import('drizzle-orm/pglite');
    if (cfg.dir) mkdirSync(cfg.dir, { recursive: true });
    // PGlite runs in its own thread: its statements and file writes never hold the event loop.
    // If that thread dies, every request would fail while the process looks alive: exit instead,
    // so a supervisor restarts it (committed data is on disk; PGlite recovers on open).
    const client = new PGliteWorkerClient(cfg.dir, (err) => {
      process.stderr.write(`sohbet: ${err.message}; exiting\n`);
      process.exit(70);
    });
    await client.waitReady;
    const db = drizzle(client as never, { schema }) as unknown as Db;
    if (migrate) {
      const { migrate: run } = await import('drizzle-orm/pglite/migrator');
      await run(db as never, { migrationsFolder });
    }
    return {
      db,
      kind: 'pglite',
      ping: async () => void (await client.query('select 1')),
      close: () => client.close(),
    };
  }
  const pg = await import('pg');
  const { drizzle } = await import('drizzle-orm/node-postgres');
  // bigint columns are read as numbers in mode:'number'; count(*) etc. come back as strings otherwise.
  pg.default.types.setTypeParser(20, (v: string) => Number(v));
  pgTypes = pg.default.types;
  // Every connection stays open (min = max, no idle timeout) and all are opened before serving:
  // a connection opened under load costs a fork, authentication, a cold backend cache and a
  // re-parse of every prepared statement, and showed up as 150–235 ms stalls in the first seconds
  // of a burst (calls bench, bench/README.md), again after every lull longer than pg-pool's 10 s.
  const pool = new pg.default.Pool({ connectionString: cfg.url, max: cfg.poolSize, min: cfg.poolSize, idleTimeoutMillis: 0 });
  pool.on('error', () => {
    /* a dropped idle client; the pool replaces it, and /readyz reports a down database */
  });
  const statements = { on: false };
  if (cfg.preparedStatements !== false) pool.on('connect', (client) => namePreparedStatements(client, statements));
  const db = drizzle(pool, { schema }) as unknown as Db;
  if (migrate) {
    const { migrate: run } = await import('drizzle-orm/node-postgres/migrator');
    // Several instances may start at once: serialize migrations with an advisory lock.
    const client = await pool.connect();
    try {
      await client.query('select pg_advisory_lock(7424631)');
      await run(drizzle(client, { schema }) as never, { migrationsFolder });
    } finally {
      await client.query('select pg_advisory_unlock(7424631)').catch(() => {});
      client.release();
    }
  }
  statements.on = true; // after migrations: no statement prepared against the old schema
  const warm = await Promise.allSettled(Array.from({ length: cfg.poolSize }, () => pool.connect()));
  for (const w of warm) if (w.status === 'fulfilled') w.value.release();
  return {
    db,
    kind: 'postgres',
    ping: async () => void (await pool.query('select 1')),
    close: () => pool.end(),
  };
}

/** Statements prepared per connection at most (distinct query shapes are far fewer; a cap bounds server memory). */
const MAX_PREPARED_PER_CONNECTION = 1000;
const MAX_PREPARED_TEXT = 8192;
const statementNames = new Map<string, string>();
/**
 * `select *` / `returning *` (or `t.*`) statements stay unnamed: a prepared one fails with "cached
 * plan must not change result type" once another instance's migration adds a column (rolling deploy).
 */
const STAR_RESULT = /\b(?:select|returning)\s+(?:distinct\s+)?(?:[a-z_][a-z0-9_]*\.)?\*|,\s*(?:[a-z_][a-z0-9_]*\.)?\*/i;

/**
 * Runs every parameterized query as a named prepared statement on its connection: the first run
 * parses it, later runs only bind and execute. PostgreSQL skips parse and analysis (and can keep
 * a plan), and the client sends and decodes less — about a third less CPU per query here. The name
 * is a hash of the text, so the same query shares its name across connections. Off with
 * DATABASE_PREPARED_STATEMENTS=false (e.g. behind PgBouncer in transaction mode before 1.21).
 */
function namePreparedStatements(client: import('pg').PoolClient, statements: { on: boolean }): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  let prepared = 0;
  (client as { query: unknown }).query = (config: unknown, ...rest: unknown[]) => {
    if (statements.on && config && typeof config === 'object' && !(config as { name?: string }).name && (config as { text?: unknown }).text !== undefined && Array.isArray(rest[0]) && rest[0].length > 0) {
      const text = String((config as { text: string }).text);
      let name = statementNames.get(text);
      if (name === undefined && text.length <= MAX_PREPARED_TEXT && prepared < MAX_PREPARED_PER_CONNECTION && !STAR_RESULT.test(text)) {
        name = `s${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
        if (statementNames.size >= 20_000) statementNames.clear();
        statementNames.set(text, name);
      }
      if (name !== undefined) {
        const known = (client as unknown as { connection: { parsedStatements: Record<string, string> } }).connection.parsedStatements;
        if (known[name] !== undefined || prepared < MAX_PREPARED_PER_CONNECTION) {
          if (known[name] === undefined) prepared++;
          return query({ ...(config as object), name }, ...rest);
        }
      }
    }
    return query(config, ...rest);
  };
}

/** Rows of a raw query on either driver. */
export async function rows<T>(ex: Executor, query: SQL): Promise<T[]> {
  const plain = compilePlain(query);
  if (!plain) return ((await ex.execute(query)) as unknown as { rows: T[] }).rows;
  const client = (ex as unknown as { session: { client: RawClient } }).session.client;
  try {
    const r = isPgClient(client)
      ? await client.query({ text: plain.text, types: PG_RAW_TYPES }, plain.params)
      : await client.query(plain.text, plain.params, PGLITE_RAW_OPTIONS);
    return r.rows as T[];
  } catch (e) {
    throw new DrizzleQueryError(plain.text, plain.params, e as Error);
  }
}

type RawClient =
  | { query(config: { text: string; types: unknown }, params: unknown[]): Promise<{ rows: unknown[] }>; on?: unknown }
  | { query(text: string, params: unknown[], opts: unknown): Promise<{ rows: unknown[] }> };
// node-postgres pools and clients are EventEmitters; PGlite's worker client and its transactions are not.
const isPgClient = (c: RawClient): c is Extract<RawClient, { on?: unknown }> => typeof (c as { on?: unknown }).on === 'function';

/**
 * Raw SQL made only of sql`` text, nested sql``, sql.identifier / sql.raw and plain values (most of
 * the hot paths) compiles here to the text and parameters Drizzle's own compiler would produce, at
 * a fraction of its cost (it re-checks every chunk's entity kind and opens a tracing span per
 * fragment). Anything else — columns, tables, typed params, inlined params — returns null and takes
 * Drizzle's path. Results are read with Drizzle's raw-query parsers (dates and intervals as text),
 * and errors are wrapped as Drizzle wraps them, so callers cannot tell the two paths apart.
 */
export function compilePlain(query: SQL): { text: string; params: unknown[] } | null {
  const params: unknown[] = [];
  let text = '';
  const walk = (chunk: unknown): boolean => {
    if (chunk instanceof StringChunk) {
      const v = chunk.value;
      text += v.length === 1 ? v[0] : v.join('');
    } else if (chunk instanceof SQL) {
      if ((chunk as unknown as { shouldInlineParams: boolean }).shouldInlineParams) return false;
      for (const c of chunk.queryChunks) if (!walk(c)) return false;
    } else if (chunk === undefined) {
      /* nothing, as in Drizzle */
    } else if (chunk instanceof Name) {
      text += `"${chunk.value.replace(/"/g, '""')}"`;
    } else if (Array.isArray(chunk)) {
      text += '(';
      for (let i = 0; i < chunk.length; i++) {
        if (!walk(chunk[i])) return false;
        if (i < chunk.length - 1) text += ', ';
      }
      text += ')';
    } else if (chunk !== null && typeof chunk === 'object' && (entityKind in (chunk.constructor ?? {}) || typeof (chunk as { getSQL?: unknown }).getSQL === 'function')) {
      return false; // a Drizzle entity (column, table, param, subquery…)
    } else {
      params.push(chunk);
      text += `$${params.length}`;
    }
    return true;
  };
  return walk(query) ? { text, params } : null;
}

// Drizzle's raw-query result parsers: dates, timestamps, intervals (and arrays of them) as text.
const TEXT_TYPES = [1082, 1114, 1184, 1186, 1231, 1115, 1185, 1187, 1182];
const PG_RAW_TYPES = {
  getTypeParser: (typeId: number, format?: string) =>
    TEXT_TYPES.includes(typeId) ? (v: string) => v : pgTypes!.getTypeParser(typeId, format as 'text'),
};
const PGLITE_RAW_OPTIONS = { rowMode: 'object', parsers: Object.fromEntries(TEXT_TYPES.map((t) => [t, (v: string) => v])) };
let pgTypes: typeof import('pg').types | null = null;

// Arrays are passed as Postgres array literals so the same SQL runs on PGlite and node-postgres.
export function pgTextArray(xs: readonly string[]): string {
  return `{${xs.map((x) => `"${x.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`;
}
export function pgIntArray(xs: readonly number[]): string {
  return `{${xs.map((x) => String(Math.trunc(x))).join(',')}}`;
}

export { sql };
