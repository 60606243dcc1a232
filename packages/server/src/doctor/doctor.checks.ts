import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { importPKCS8, SignJWT } from 'jose';
import { Redis } from 'ioredis';
import { RoomServiceClient } from 'livekit-server-sdk';
import nodemailer from 'nodemailer';
import pg from 'pg';
import webpush from 'web-push';
import { buffer } from 'node:stream/consumers';
import type { Config } from '../config/config.ts';
import { createStorage, UrlSigner } from '../storage/create-storage.ts';
import { loadServiceAccount } from '../notify/providers/fcm.ts';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';
export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to change when it is not ok. */
  fix?: string;
}

const TIMEOUT_MS = 5000;
const ok = (name: string, detail: string): CheckResult => ({ name, status: 'ok', detail });
const fail = (name: string, detail: string, fix: string): CheckResult => ({ name, status: 'fail', detail, fix });
const skip = (name: string, detail: string): CheckResult => ({ name, status: 'skip', detail });
const warn = (name: string, detail: string, fix: string): CheckResult => ({ name, status: 'warn', detail, fix });
const msg = (err: unknown) => (err instanceof Error ? err.message || err.name : String(err)).split('\n')[0]!.slice(0, 300);

function withTimeout<T>(p: Promise<T>, what: string, ms = TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

const migrationsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '../db/migrations');

/** Migrations this build ships (drizzle's journal), oldest first. */
export function shippedMigrations(): Array<{ tag: string; when: number }> {
  const journal = JSON.parse(readFileSync(path.join(migrationsDir, 'meta/_journal.json'), 'utf8')) as { entries: Array<{ tag: string; when: number }> };
  return journal.entries;
}

/** Drizzle applies journal entries newer than the last recorded migration: those are pending. */
export function pendingMigrations(lastAppliedWhen: number | null): string[] {
  return shippedMigrations()
    .filter((m) => lastAppliedWhen === null || m.when > lastAppliedWhen)
    .map((m) => m.tag);
}

export async function checkDatabase(config: Config): Promise<CheckResult> {
  const name = 'database';
  if (config.db.kind === 'pglite') {
    try {
      await mkdir(config.db.dir, { recursive: true });
      const probe = path.join(config.db.dir, `.doctor-${randomBytes(4).toString('hex')}`);
      await writeFile(probe, 'x');
      await rm(probe);
    } catch (err) {
      return fail(name, `embedded PGlite: ${config.db.dir} is not writable (${msg(err)})`, 'give the server user write access to DATA_DIR, or set DATABASE_URL');
    }
    const ship = shippedMigrations();
    const note = config.env === 'production' ? ' — production deployments should use PostgreSQL (DATABASE_URL)' : '';
    return { name, status: config.env === 'production' ? 'warn' : 'ok', detail: `embedded PGlite in ${config.db.dir} (writable; ${ship.length} migrations applied on start)${note}`, fix: note ? 'set DATABASE_URL' : undefined };
  }
  const client = new pg.Client({ connectionString: config.db.url, connectionTimeoutMillis: TIMEOUT_MS });
  try {
    await withTimeout(client.connect(), 'PostgreSQL');
    const version = (await client.query<{ v: string }>('show server_version')).rows[0]!.v;
    const table = (await client.query<{ t: string | null }>("select to_regclass('drizzle.__drizzle_migrations')::text as t")).rows[0]!.t;
    const last = table ? (await client.query<{ w: string | null }>('select max(created_at)::text as w from drizzle.__drizzle_migrations')).rows[0]!.w : null;
    const pending = pendingMigrations(last === null ? null : Number(last));
    if (pending.length) return fail(name, `PostgreSQL ${version} reachable; ${pending.length} migration(s) pending: ${pending.join(', ')}`, 'run `sohbet migrate` (or start the server: it migrates under an advisory lock)');
    return ok(name, `PostgreSQL ${version} reachable, all ${shippedMigrations().length} migrations applied`);
  } catch (err) {
    return fail(name, `PostgreSQL not reachable: ${msg(err)}`, 'check DATABASE_URL (host, port, user, password, database) and that PostgreSQL accepts connections from here');
  } finally {
    await client.end().catch(() => {});
  }
}

export async function checkRedis(config: Config): Promise<CheckResult> {
  const name = 'redis';
  if (!config.redis) return skip(name, 'REDIS_URL not set: single instance, in-process fan-out');
  const redis = new Redis(config.redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: TIMEOUT_MS, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await withTimeout(redis.connect(), 'Redis');
    const key = `${config.redis.prefix}doctor:${randomBytes(4).toString('hex')}`;
    await redis.set(key, '1', 'EX', 10);
    await redis.del(key);
    const info = await redis.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? '?';
    return ok(name, `Redis ${version} reachable (set/del of a probe key under ${config.redis.prefix})`);
  } catch (err) {
    return fail(name, `Redis not usable: ${msg(err)}`, 'check REDIS_URL and that Redis accepts connections (and AUTH) from here');
  } finally {
    redis.disconnect();
  }
}

/** Puts, reads back and deletes a probe object in the configured storage. */
export async function checkStorage(config: Config): Promise<CheckResult> {
  const name = 'storage';
  const s = config.media.storage;
  const storage = createStorage(s, new UrlSigner(randomBytes(32).toString('hex'), () => new Date()), () => new Date());
  const key = `doctor/${randomBytes(8).toString('hex')}`;
  const body = Buffer.from(`sohbet doctor ${new Date().toISOString()}`);
  const where = s.kind === 's3' ? `S3 bucket ${s.bucket}${s.endpoint ? ` at ${s.endpoint}` : ` (${s.region})`}` : `local disk ${s.dir}`;
  try {
    await withTimeout(storage.put(key, body, { contentType: 'text/plain', contentLength: body.length }), 'put');
    const back = await withTimeout(storage.read(key).then((r) => buffer(r)), 'get');
    if (!back.equals(body)) throw new Error('the object read back differs from what was written');
    await withTimeout(storage.delete(key), 'delete');
    if (await storage.stat(key)) throw new Error('the probe object is still there after delete');
    return ok(name, `${where}: put/get/delete of a probe object worked`);
  } catch (err) {
    const fix = s.kind === 's3' ? 'check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (s3:PutObject, GetObject, DeleteObject on the bucket), AWS_BUCKET_NAME, AWS_REGION, S3_ENDPOINT/S3_FORCE_PATH_STYLE' : 'give the server user write access to DATA_DIR';
    return fail(name, `${where}: ${msg(err)}`, fix);
  }
}

export async function checkLiveKit(config: Config): Promise<CheckResult> {
  const name = 'livekit';
  const lk = config.calls.livekit;
  if (!lk) return skip(name, 'LIVEKIT_* not set: calls are peer-to-peer (server does signaling)');
  try {
    const rooms = await withTimeout(new RoomServiceClient(lk.apiUrl, lk.apiKey, lk.apiSecret).listRooms(), 'LiveKit');
    return ok(name, `${lk.url}: credentials accepted (listRooms: ${rooms.length} room(s))`);
  } catch (err) {
    return fail(name, `${lk.url}: ${msg(err)}`, 'check LIVEKIT_URL (the server, reachable from here) and LIVEKIT_API_KEY/LIVEKIT_API_SECRET (a key pair of that server/project)');
  }
}

/** Each configured notification provider, with its cheapest authenticated call where it has one. */
export async function checkNotify(config: Config, fetchImpl: typeof fetch = fetch): Promise<CheckResult[]> {
  const n = config.notify;
  const out: CheckResult[] = [];
  const get = (url: string, init: RequestInit = {}) => fetchImpl(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (n.expo) {
    try {
      // Fetching receipts for no tickets is free and needs the access token when enhanced security is on.
      const res = await get(`${n.expo.url}/--/api/v2/push/getReceipts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(n.expo.accessToken ? { authorization: `Bearer ${n.expo.accessToken}` } : {}) },
        body: JSON.stringify({ ids: [] }),
      });
      out.push(res.ok ? ok('notify.expo', `Expo push at ${n.expo.url}: accepted`) : fail('notify.expo', `Expo push: HTTP ${res.status}`, 'check EXPO_ACCESS_TOKEN (Expo dashboard → Access tokens)'));
    } catch (err) {
      out.push(fail('notify.expo', `Expo push: ${msg(err)}`, 'check EXPO_PUSH_URL and network access to exp.host'));
    }
  }
  if (n.fcm) {
    try {
      const sa = loadServiceAccount(n.fcm.serviceAccount);
      const key = await importPKCS8(sa.private_key, 'RS256');
      const iat = Math.floor(Date.now() / 1000);
      const assertion = await new SignJWT({ scope: 'https://www.googleapis.com/auth/firebase.messaging' }).setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).setIssuer(sa.client_email).setAudience(sa.token_uri).setIssuedAt(iat).setExpirationTime(iat + 600).sign(key);
      const res = await get(sa.token_uri, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }) });
      out.push(res.ok ? ok('notify.fcm', `FCM: service account ${sa.client_email} got an access token`) : fail('notify.fcm', `FCM token exchange: HTTP ${res.status}`, 'check FCM_SERVICE_ACCOUNT (a current key of a service account with Firebase Messaging access)'));
    } catch (err) {
      out.push(fail('notify.fcm', `FCM: ${msg(err)}`, 'FCM_SERVICE_ACCOUNT must be the service account JSON or a path to it'));
    }
  }
  if (n.apns) {
    try {
      await importPKCS8(n.apns.key, 'ES256');
      out.push(ok('notify.apns', `APNs: key ${n.apns.keyId} parses (no cheap authenticated call without a device token)`));
    } catch (err) {
      out.push(fail('notify.apns', `APNs key: ${msg(err)}`, 'APNS_KEY must be the .p8 auth key (PEM; \\n escapes allowed)'));
    }
  }
  if (n.webpush) {
    try {
      webpush.setVapidDetails(n.webpush.subject, n.webpush.publicKey, n.webpush.privateKey);
      out.push(ok('notify.webpush', 'Web Push: VAPID keys and subject are valid'));
    } catch (err) {
      out.push(fail('notify.webpush', `Web Push: ${msg(err)}`, 'generate keys with `npx web-push generate-vapid-keys`; VAPID_SUBJECT is mailto: or https:'));
    }
  }
  if (n.resend) {
    try {
      const res = await get(`${n.resend.url}/domains`, { headers: { authorization: `Bearer ${n.resend.apiKey}` } });
      const body = res.ok ? null : ((await res.json().catch(() => null)) as { name?: string } | null);
      // A sending-only key may not list domains: Resend says so with `restricted_api_key`, which still proves the key.
      if (res.ok || body?.name === 'restricted_api_key') out.push(ok('notify.resend', 'Resend: API key accepted'));
      else out.push(fail('notify.resend', `Resend: HTTP ${res.status}${body?.name ? ` (${body.name})` : ''}`, 'check RESEND_API_KEY'));
    } catch (err) {
      out.push(fail('notify.resend', `Resend: ${msg(err)}`, 'check RESEND_URL and network access to api.resend.com'));
    }
  }
  if (n.smtp) {
    const t = nodemailer.createTransport(n.smtp.url, { connectionTimeout: TIMEOUT_MS, greetingTimeout: TIMEOUT_MS, socketTimeout: TIMEOUT_MS } as object);
    try {
      await withTimeout(t.verify(), 'SMTP');
      out.push(ok('notify.smtp', 'SMTP: connected and authenticated'));
    } catch (err) {
      out.push(fail('notify.smtp', `SMTP: ${msg(err)}`, 'check SMTP_URL (host, port, user, password; smtps:// for implicit TLS)'));
    } finally {
      t.close();
    }
  }
  if (n.twilio) {
    try {
      const res = await get(`${n.twilio.url}/2010-04-01/Accounts/${encodeURIComponent(n.twilio.accountSid)}.json`, {
        headers: { authorization: `Basic ${Buffer.from(`${n.twilio.accountSid}:${n.twilio.authToken}`).toString('base64')}` },
      });
      out.push(res.ok ? ok('notify.twilio', `Twilio: account ${n.twilio.accountSid} accepted the credentials`) : fail('notify.twilio', `Twilio: HTTP ${res.status}`, 'check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN'));
    } catch (err) {
      out.push(fail('notify.twilio', `Twilio: ${msg(err)}`, 'check TWILIO_URL and network access to api.twilio.com'));
    }
  }
  if (!out.length) out.push(skip('notify', 'no provider configured: notifications are recorded in the outbox only'));
  if ((n.resend || n.smtp) && !n.emailFrom) out.push(fail('notify.email', 'no EMAIL_FROM', 'set EMAIL_FROM'));
  return out;
}

/** TURN: URLs well formed, a secret long enough, and each UDP server answers a STUN binding request. */
export async function checkTurn(config: Config): Promise<CheckResult> {
  const name = 'turn';
  const turn = config.calls.ice.turn;
  if (config.calls.livekit) return skip(name, 'LiveKit handles media (its own TURN)');
  if (!turn) return warn(name, 'TURN_URLS not set: peer-to-peer calls fail between many mobile/corporate networks', 'run coturn with use-auth-secret and set TURN_URLS and TURN_SECRET');
  const problems: string[] = [];
  if (turn.secret.length < 16) problems.push('TURN_SECRET is shorter than 16 characters');
  const reachable: string[] = [];
  for (const u of turn.urls) {
    const m = /^(turns?):([^:?]+|\[[^\]]+\])(?::(\d+))?(?:\?transport=(udp|tcp))?$/.exec(u);
    if (!m) {
      problems.push(`${u} is not turn:host[:port][?transport=udp|tcp]`);
      continue;
    }
    const [, scheme, host, port, transport] = m;
    if (scheme === 'turn' && (transport ?? 'udp') === 'udp') {
      const p = Number(port ?? 3478);
      if (await stunBinding(host!.replace(/^\[|\]$/g, ''), p)) reachable.push(u);
      else problems.push(`${u}: no answer to a STUN binding request on UDP ${host}:${p}`);
    }
  }
  if (!turn.urls.some((u) => u.startsWith('turns:') || u.includes('transport=tcp'))) problems.push('no TCP/TLS TURN URL: clients behind UDP-blocking firewalls cannot relay (add turns:host:5349 or ?transport=tcp)');
  if (problems.length) return { name, status: problems.some((p) => /not turn:|no answer|shorter/.test(p)) ? 'fail' : 'warn', detail: problems.join('; '), fix: 'check TURN_URLS/TURN_SECRET against coturn (listening-port, tls-listening-port, static-auth-secret)' };
  return ok(name, `${turn.urls.length} TURN URL(s); answering: ${reachable.join(', ') || 'none over UDP to probe'}`);
}

function stunBinding(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const req = Buffer.alloc(20);
    req.writeUInt16BE(0x0001, 0); // Binding request
    req.writeUInt16BE(0, 2);
    req.writeUInt32BE(0x2112a442, 4); // magic cookie
    randomBytes(12).copy(req, 8);
    const done = (v: boolean) => {
      clearTimeout(timer);
      sock.close();
      resolve(v);
    };
    const timer = setTimeout(() => done(false), 2000);
    sock.on('message', (m) => done(m.length >= 20 && m.readUInt16BE(0) === 0x0101 && m.subarray(8, 20).equals(req.subarray(8, 20))));
    sock.on('error', () => done(false));
    sock.send(req, port, host);
  });
}

export function checkFrontend(config: Config): CheckResult {
  const name = 'frontend_url';
  const origins = config.http.corsOrigins;
  if (origins === true) {
    if (config.env === 'production') return fail(name, 'FRONTEND_URL not set in production', 'set FRONTEND_URL to your web origin(s), e.g. https://app.example.com');
    return warn(name, 'FRONTEND_URL not set: CORS allows any origin (development)', 'set FRONTEND_URL before going to production');
  }
  if (!origins.length) return fail(name, 'FRONTEND_URL not set in production: browsers on other origins are refused and notification links have no base', 'set FRONTEND_URL to your web origin(s), e.g. https://app.example.com');
  const bad = origins.filter((o) => !/^https?:\/\/[^/]+$/.test(o.replace(/\/$/, '')));
  if (bad.length) return fail(name, `not an origin: ${bad.join(', ')}`, 'FRONTEND_URL is a comma-separated list of origins like https://app.example.com (no path)');
  const insecure = origins.filter((o) => o.startsWith('http://') && !/^http:\/\/(localhost|127\.)/.test(o));
  if (config.env === 'production' && insecure.length) return warn(name, `plain http origin(s) in production: ${insecure.join(', ')}`, 'serve the web app over https');
  return ok(name, origins.join(', '));
}
