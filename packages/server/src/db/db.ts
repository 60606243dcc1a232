import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { sql, type SQL } from 'drizzle-orm';
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
  const pool = new pg.default.Pool({ connectionString: cfg.url, max: cfg.poolSize });
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
  const r = (await ex.execute(query)) as unknown as { rows: T[] };
  return r.rows;
}

// Arrays are passed as Postgres array literals so the same SQL runs on PGlite and node-postgres.
export function pgTextArray(xs: readonly string[]): string {
  return `{${xs.map((x) => `"${x.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`;
}
export function pgIntArray(xs: readonly number[]): string {
  return `{${xs.map((x) => String(Math.trunc(x))).join(',')}}`;
}

export { sql };
