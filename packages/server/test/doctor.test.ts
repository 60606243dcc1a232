/**
 * `sohbet doctor` against real PostgreSQL and Redis (when reachable), a real S3-protocol server
 * (s3rver, SigV4 checked), a private coturn (when installed), and local stand-ins speaking the
 * documented HTTP contracts of the paid cloud APIs (LiveKit Twirp, Twilio, Resend) — then against
 * bad settings, where every problem must be named with its fix and the exit code must be 1.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import S3rver from '@20minutes/s3rver';
import { TokenVerifier } from 'livekit-server-sdk';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../src/db/db.ts';
import { runDoctor, formatDoctor, type CheckResult } from '../src/doctor/doctor.ts';
import { freshPostgres, services, TEST_SECRET } from './harness.ts';
import { freePort } from './process.ts';

const LK_KEY = 'lk-doctor-key';
const LK_SECRET = 'lk-doctor-secret-0123456789abcdef0123456789';
const TWILIO_SID = 'AC00000000000000000000000000000001';
const TWILIO_TOKEN = 'twilio-doctor-token';
const RESEND_KEY = 're_doctor_key';
const TURN_SECRET = 'turn-doctor-secret-0123456789';
const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/sohbet.mjs');

/** LiveKit ListRooms (Twirp JSON, admin JWT), Twilio's account fetch (Basic auth), Resend's domain list (Bearer). */
async function fakeClouds(): Promise<{ url: string; close(): Promise<void> }> {
  const verifier = new TokenVerifier(LK_KEY, LK_SECRET);
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', async () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const auth = req.headers.authorization ?? '';
      if (req.url === '/twirp/livekit.RoomService/ListRooms') {
        try {
          const grants = await verifier.verify(/^Bearer (.+)$/.exec(auth)?.[1] ?? '');
          return grants.video?.roomList ? send(200, { rooms: [{ name: 'r1' }] }) : send(403, { code: 'permission_denied', msg: 'roomList' });
        } catch {
          return send(401, { code: 'unauthenticated', msg: 'invalid token' });
        }
      }
      if (req.url === `/2010-04-01/Accounts/${TWILIO_SID}.json`) {
        return auth === `Basic ${Buffer.from(`${TWILIO_SID}:${TWILIO_TOKEN}`).toString('base64')}` ? send(200, { sid: TWILIO_SID, status: 'active' }) : send(401, { code: 20003, message: 'Authenticate' });
      }
      if (req.url === '/domains') return auth === `Bearer ${RESEND_KEY}` ? send(200, { data: [] }) : send(401, { statusCode: 401, name: 'validation_error', message: 'API key is invalid' });
      send(404, {});
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

/** A private coturn on a free UDP port (never the shared one), stopped by PID. */
async function startCoturn(): Promise<{ port: number; stop(): void } | null> {
  if (!existsSync('/usr/bin/turnserver')) return null;
  const port = await freePort();
  const proc: ChildProcess = spawn('/usr/bin/turnserver', ['-n', '--listening-ip', '127.0.0.1', '--listening-port', String(port), '--use-auth-secret', `--static-auth-secret=${TURN_SECRET}`, '--realm', 'sohbet.test', '--no-tls', '--no-dtls', '--no-cli', '--log-file', 'stdout', '--pidfile', path.join(mkdtempSync(path.join(os.tmpdir(), 'turn-')), 'pid')], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 700));
  return { port, stop: () => proc.kill('SIGTERM') };
}

const byName = (results: CheckResult[], name: string) => results.find((r) => r.name === name);

describe('sohbet doctor', () => {
  let s3: S3rver;
  let s3Url: string;
  let clouds: Awaited<ReturnType<typeof fakeClouds>>;
  let turn: Awaited<ReturnType<typeof startCoturn>>;
  let dbUrl: string | null = null;
  let dropDb: (() => Promise<void>) | null = null;
  beforeAll(async () => {
    s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: mkdtempSync(path.join(os.tmpdir(), 'sohbet-s3-')), configureBuckets: [{ name: 'media' }] });
    s3Url = `http://127.0.0.1:${(await s3.run()).port}`;
    clouds = await fakeClouds();
    turn = await startCoturn();
    if (services.postgres) {
      const fresh = await freshPostgres(services.postgres);
      dbUrl = fresh.url;
      dropDb = fresh.drop;
      await (await createDatabase({ kind: 'postgres', url: dbUrl, poolSize: 2 })).close();
    }
  }, 60_000);
  afterAll(async () => {
    turn?.stop();
    await clouds.close();
    await s3.close();
    await dropDb?.();
  });

  const good = () => ({
    NODE_ENV: 'production',
    DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'sohbet-doctor-')),
    AUTH_JWT_SECRET: TEST_SECRET,
    FRONTEND_URL: 'https://app.example.com',
    ...(dbUrl ? { DATABASE_URL: dbUrl } : {}),
    ...(services.redis ? { REDIS_URL: services.redis } : {}),
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_BUCKET_NAME: 'media',
    S3_ENDPOINT: s3Url,
    S3_FORCE_PATH_STYLE: '1',
    LIVEKIT_URL: clouds.url.replace('http', 'ws'),
    LIVEKIT_API_KEY: LK_KEY,
    LIVEKIT_API_SECRET: LK_SECRET,
    TWILIO_ACCOUNT_SID: TWILIO_SID,
    TWILIO_AUTH_TOKEN: TWILIO_TOKEN,
    TWILIO_FROM: '+15550001111',
    TWILIO_URL: clouds.url,
    RESEND_API_KEY: RESEND_KEY,
    RESEND_URL: clouds.url,
    EMAIL_FROM: 'noreply@sohbet.test',
  });

  it('passes a healthy production deployment, checking each part for real', async () => {
    const report = await runDoctor(good());
    const text = formatDoctor(report);
    expect(report.ok, text).toBe(true);
    expect(byName(report.results, 'config')!.status).toBe('ok');
    if (dbUrl) expect(byName(report.results, 'database')!.detail).toMatch(/PostgreSQL .* all \d+ migrations applied/);
    if (services.redis) expect(byName(report.results, 'redis')!.detail).toMatch(/Redis \d/);
    expect(byName(report.results, 'storage')!.detail).toMatch(/S3 bucket media .* put\/get\/delete of a probe object worked/);
    expect(byName(report.results, 'livekit')!.detail).toMatch(/credentials accepted \(listRooms: 1 room/);
    expect(byName(report.results, 'notify.twilio')!.status).toBe('ok');
    expect(byName(report.results, 'notify.resend')!.status).toBe('ok');
    expect(byName(report.results, 'frontend_url')).toMatchObject({ status: 'ok', detail: 'https://app.example.com' });
    // The probe object is gone again.
    const list = await fetch(`${s3Url}/media?list-type=2`);
    expect(await list.text()).not.toMatch(/doctor\//);
  });

  it('checks TURN against a real coturn with a STUN binding request', async () => {
    if (!turn) return void console.warn('[doctor] coturn not installed: TURN probe not exercised');
    const ok = await runDoctor({ ...good(), LIVEKIT_URL: '', LIVEKIT_API_KEY: '', LIVEKIT_API_SECRET: '', TURN_URLS: `turn:127.0.0.1:${turn.port},turns:turn.example.com:5349`, TURN_SECRET });
    expect(byName(ok.results, 'turn'), formatDoctor(ok)).toMatchObject({ status: 'ok' });
    expect(byName(ok.results, 'turn')!.detail).toContain(`turn:127.0.0.1:${turn.port}`);
    const dead = await runDoctor({ ...good(), LIVEKIT_URL: '', LIVEKIT_API_KEY: '', LIVEKIT_API_SECRET: '', TURN_URLS: `turn:127.0.0.1:${await freePort()}`, TURN_SECRET: 'short' });
    expect(byName(dead.results, 'turn')).toMatchObject({ status: 'fail' });
    expect(byName(dead.results, 'turn')!.detail).toMatch(/no answer to a STUN binding request/);
    expect(byName(dead.results, 'turn')!.detail).toMatch(/shorter than 16/);
    expect(dead.ok).toBe(false);
  }, 30_000);

  it('names every broken part with what to fix: wrong credentials, unreachable services, pending migrations, no FRONTEND_URL', async () => {
    const deadPort = await freePort();
    let pending: { url: string; drop(): Promise<void> } | null = null;
    if (services.postgres) {
      // A database migrated only up to the first migration: the rest are pending.
      pending = await freshPostgres(services.postgres);
      await (await createDatabase({ kind: 'postgres', url: pending.url, poolSize: 2 })).close();
      const c = new pg.Client({ connectionString: pending.url });
      await c.connect();
      await c.query('delete from drizzle.__drizzle_migrations where id > (select min(id) from drizzle.__drizzle_migrations)');
      await c.end();
    }
    try {
      const report = await runDoctor({
        ...good(),
        FRONTEND_URL: '',
        DATABASE_URL: pending?.url ?? `postgresql://nobody:wrong@127.0.0.1:${deadPort}/none`,
        REDIS_URL: `redis://127.0.0.1:${deadPort}`,
        AWS_SECRET_ACCESS_KEY: 'WRONG',
        LIVEKIT_API_SECRET: 'wrong-secret-0123456789abcdef0123456789',
        TWILIO_AUTH_TOKEN: 'wrong',
        RESEND_API_KEY: 're_wrong',
      });
      const text = formatDoctor(report);
      expect(report.ok).toBe(false);
      const failed = report.results.filter((r) => r.status === 'fail').map((r) => r.name).sort();
      expect(failed, text).toEqual(['database', 'frontend_url', 'livekit', 'notify.resend', 'notify.twilio', 'redis', 'storage']);
      if (pending) expect(byName(report.results, 'database')!.detail).toMatch(/migration\(s\) pending: 0001_reports, /);
      else expect(byName(report.results, 'database')!.detail).toMatch(/not reachable/);
      expect(byName(report.results, 'frontend_url')!.fix).toMatch(/set FRONTEND_URL/);
      expect(text).toMatch(/fix: check AWS_ACCESS_KEY_ID/);
      expect(text).toMatch(/7 check\(s\) failed/);
    } finally {
      await pending?.drop();
    }
  }, 30_000);

  it('reports an invalid configuration key by key, and the CLI exits 1', () => {
    const run = spawnSync(process.execPath, [bin, 'doctor'], {
      env: { PATH: process.env.PATH, NODE_ENV: 'production', DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'sohbet-doctor-')), PORT: 'not-a-port', AUTH_JWT_SECRET: 'short', TURN_URLS: 'turn:x' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/FAIL {2}config {2}PORT: /);
    expect(run.stdout).toMatch(/AUTH_JWT_SECRET: must be at least 32 characters/);
    expect(run.stdout).toMatch(/check\(s\) failed/);
  }, 70_000);
});
