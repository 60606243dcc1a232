/**
 * Shared test harness: builds a real Sohbet app (PGlite in memory by default, PostgreSQL when
 * TEST_DATABASE_URL is set, Redis bus when TEST_REDIS_URL is set) and listens on 127.0.0.1:0.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { buildApp, type AppOptions, type SohbetApp } from '../src/app.ts';
import { parseConfig, type Config } from '../src/config/config.ts';
import { createLogger } from '../src/core/logger.ts';
import { afterAll, beforeAll } from 'vitest';
import { createDatabase, type Database, type Db } from '../src/db/db.ts';

export const TEST_SECRET = 'test-secret-0123456789abcdef0123456789abcdef';
export const TEST_API_KEY = 'test-api-key-0123456789abcdef';

export const services = {
  postgres: process.env.TEST_DATABASE_URL || null,
  redis: process.env.TEST_REDIS_URL || null,
};

/** Redis keys and channels of this test file's servers: parallel runs sharing one Redis never cross-talk. */
export const TEST_REDIS_PREFIX = `sohbet-t-${randomBytes(4).toString('hex')}:`;

export const TEST_LIMITS = 'message=600/1m,conversation.new=300/1h,conversation.new.young_account=300/1h,support.start=100/1h,call.start=100/1m,upload=300/1m,connect=600/1m';

/** Config for tests: explicit env, nothing read from process.env. */
export function testConfig(env: Record<string, string | undefined> = {}): Config {
  return parseConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'sohbet-test-')),
    AUTH_JWT_SECRET: TEST_SECRET,
    SOHBET_API_KEY: TEST_API_KEY,
    DEV_LOGIN: '1',
    SHUTDOWN_GRACE_MS: '500',
    REDIS_KEY_PREFIX: TEST_REDIS_PREFIX,
    // Functional suites reuse a few users for many actions within seconds; the limits people get
    // would make them depend on where a window boundary falls. test/limits.test.ts sets its own.
    RATE_LIMITS: TEST_LIMITS,
    ...env,
  });
}

/** A fresh, empty PostgreSQL database on the test server (dropped by the returned cleanup). */
export async function freshPostgres(baseUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `sohbet_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(baseUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export type DbKind = 'pglite' | 'postgres';
/** The database kinds this run can test: PGlite always, PostgreSQL when TEST_DATABASE_URL is set. */
export const dbKinds: DbKind[] = services.postgres ? ['pglite', 'postgres'] : ['pglite'];

/** A test database for the enclosing `describe`: opened before its tests (and before its own `beforeAll`s), closed after them. */
export function useTestDatabase(kind: DbKind): { db: () => Db; database: () => Database } {
  let opened: Awaited<ReturnType<typeof openTestDatabase>> | null = null;
  beforeAll(async () => {
    opened = await openTestDatabase(kind);
  });
  afterAll(async () => opened?.cleanup());
  const database = () => opened!.database;
  return { database, db: () => database().db };
}

export async function openTestDatabase(kind: DbKind): Promise<{ database: Database; env: Record<string, string>; cleanup: () => Promise<void> }> {
  if (kind === 'pglite') {
    const database = await createDatabase({ kind: 'pglite', dir: null });
    return { database, env: {}, cleanup: () => database.close() };
  }
  const { url, drop } = await freshPostgres(services.postgres!);
  const database = await createDatabase({ kind: 'postgres', url, poolSize: 10 });
  return {
    database,
    env: { DATABASE_URL: url },
    cleanup: async () => {
      await database.close();
      await drop();
    },
  };
}

export interface TestServer {
  app: SohbetApp;
  url: string;
  wsUrl: string;
  config: Config;
  token(userId: string, opts?: { name?: string; roles?: string[]; ttlSeconds?: number }): Promise<string>;
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1:0. Pass `db` to choose the database kind, `env` to override config. */
export async function startTestServer(opts: { db?: DbKind; env?: Record<string, string>; app?: AppOptions } = {}): Promise<TestServer> {
  const db = await openTestDatabase(opts.db ?? 'pglite');
  const config = testConfig({ ...db.env, ...(opts.env ?? {}) });
  const app = await buildApp(config, { log: createLogger(config.log.level), database: db.database, ...opts.app });
  await app.http.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.http.server.address() as { port: number };
  const url = `http://127.0.0.1:${addr.port}`;
  return {
    app,
    url,
    wsUrl: `ws://127.0.0.1:${addr.port}/ws`,
    config,
    token: async (userId, o = {}) => {
      // Like the host backend: the user exists (server API upsert) before anyone messages them.
      await app.services.conversations.upsertUser({ id: userId, name: o.name ?? userId, avatarUrl: null, roles: o.roles ?? [] });
      return app.services.auth.mint({ id: userId, name: o.name, roles: o.roles }, o.ttlSeconds ?? 3600);
    },
    close: async () => {
      await app.close();
      await db.cleanup();
    },
  };
}
