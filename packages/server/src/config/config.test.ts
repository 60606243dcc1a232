import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './config.ts';

describe('config', () => {
  it('runs on embedded defaults with no environment at all', () => {
    const c = parseConfig({});
    expect(c.http.port).toBe(3000);
    expect(c.db.kind).toBe('pglite');
    expect(c.redis).toBeNull();
    expect(c.dataDir.endsWith('.sohbet-data')).toBe(true);
    expect(Object.isFrozen(c.auth)).toBe(true);
  });

  it('switches to PostgreSQL and Redis when their URLs are set', () => {
    const c = parseConfig({ DATABASE_URL: 'postgresql://u:p@db:5432/sohbet', REDIS_URL: 'redis://cache:6379' });
    expect(c.db).toMatchObject({ kind: 'postgres', url: 'postgresql://u:p@db:5432/sohbet' });
    expect(c.redis).toEqual({ url: 'redis://cache:6379', prefix: 'sohbet:' });
    expect(parseConfig({ REDIS_URL: 'redis://cache:6379', REDIS_KEY_PREFIX: 'shop-a:' }).redis?.prefix).toBe('shop-a:');
    expect(() => parseConfig({ REDIS_KEY_PREFIX: 'has space' })).toThrow(/REDIS_KEY_PREFIX/);
  });

  it('reports every bad key at once, each with a hint', () => {
    try {
      parseConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', AUTH_JWT_SECRET: 'short' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      expect(msg).toMatch(/PORT: .*TCP port/);
      expect(msg).toMatch(/DATABASE_URL: must start with postgres/);
      expect(msg).toMatch(/AUTH_JWT_SECRET: must be at least 32 characters/);
    }
  });

  it('never allows the demo sign-in in production, and requires a token key there', () => {
    expect(() => parseConfig({ NODE_ENV: 'production', DEV_LOGIN: '1', AUTH_JWT_SECRET: 'x'.repeat(32) })).toThrow(/DEV_LOGIN/);
    expect(() => parseConfig({ NODE_ENV: 'production' })).toThrow(/AUTH_JWT_SECRET or AUTH_JWKS_URL/);
    expect(parseConfig({ NODE_ENV: 'production', AUTH_JWKS_URL: 'https://auth.example.com/jwks.json' }).auth.devLogin).toBe(false);
    // `npm start` passes --demo: on by default locally, ignored in production so the same command deploys safely.
    expect(parseConfig({}, { demo: true }).auth.devLogin).toBe(true);
    expect(parseConfig({ NODE_ENV: 'production', AUTH_JWKS_URL: 'https://auth.example.com/jwks.json' }, { demo: true }).auth.devLogin).toBe(false);
  });
});
