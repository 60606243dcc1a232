import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { sql, type SQL } from 'drizzle-orm';
import * as schema from './schema.ts';
import { takeTurns } from './pglite-turns.ts';

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

export type DbConfig = { kind: 'pglite'; dir: string | null } | { kind: 'postgres'; url: string; poolSize: number };

const migrationsFolder = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Opens the database and applies pending migrations (the same SQL on PGlite and PostgreSQL). */
export async function createDatabase(cfg: DbConfig, opts: { migrate?: boolean } = {}): Promise<Database> {
  const migrate = opts.migrate ?? true;
  if (cfg.kind === 'pglite') {
    const { PGlite } = await import('@electric-sql/pglite');
    const { drizzle } = await import('drizzle-orm/pglite');
    if (cfg.dir) mkdirSync(cfg.dir, { recursive: true });
    const client = cfg.dir ? new PGlite(cfg.dir) : new PGlite();
    await client.waitReady;
    takeTurns(client);
    const db = drizzle(client, { schema }) as unknown as Db;
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
  return {
    db,
    kind: 'postgres',
    ping: async () => void (await pool.query('select 1')),
    close: () => pool.end(),
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
