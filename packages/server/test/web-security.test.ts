/**
 * Web security: CORS limited to FRONTEND_URL, security headers and the web app's CSP, and no
 * secrets in the logs (a server booted with secrets, used with tokens and keys, its log grepped).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/core/logger.ts';
import { parseConfig } from '../src/config/config.ts';
import { contentSecurityPolicy } from '../src/web-security/security-headers.ts';
import { startTestServer, TEST_API_KEY, TEST_SECRET, type TestServer } from './harness.ts';
import { connectSocket } from './ws-client.ts';

function webDist(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sohbet-web-'));
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>Sohbet</title><div id="root"></div>');
  return dir;
}

describe('CORS and security headers', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({ env: { FRONTEND_URL: 'https://app.example.com', WEB_DIST_DIR: webDist(), LIVEKIT_URL: 'wss://lk.example.com', LIVEKIT_API_KEY: 'lk-key', LIVEKIT_API_SECRET: 'lk-secret-0123456789abcdef0123456789' } });
  }, 180_000); // PGlite boots in WASM: 3–5 s of CPU when idle, much longer while the whole suite starts on two cores
  afterAll(() => srv.close());

  const preflight = (origin: string) =>
    fetch(`${srv.url}/trpc/chat.list`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });

  it('answers CORS only for FRONTEND_URL', async () => {
    expect((await preflight('https://app.example.com')).headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect((await preflight('https://evil.example.net')).headers.get('access-control-allow-origin')).toBeNull();
    const plain = await fetch(`${srv.url}/healthz`, { headers: { origin: 'https://evil.example.net' } });
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
    expect(plain.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('serves the web app with a strict CSP (self, ws to itself, blob/data images, blob media, the LiveKit URL, the service worker) and the other headers', async () => {
    const res = await fetch(`${srv.url}/conversations/x`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    const dir = (name: string) => csp.split('; ').find((d) => d.startsWith(`${name} `))?.split(' ').slice(1) ?? [];
    expect(dir('default-src')).toEqual(["'self'"]);
    expect(dir('script-src')).toEqual(["'self'"]);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    const host = new URL(srv.url).host;
    expect(dir('connect-src')).toEqual(expect.arrayContaining(["'self'", `ws://${host}`, `wss://${host}`, 'wss://lk.example.com', 'https://lk.example.com']));
    expect(dir('img-src')).toEqual(expect.arrayContaining(['blob:', 'data:']));
    expect(dir('media-src')).toEqual(expect.arrayContaining(['blob:']));
    expect(dir('worker-src')).toEqual(["'self'"]);
    expect(dir('object-src')).toEqual(["'none'"]);
    expect(dir('frame-ancestors')).toEqual(["'self'", 'https://app.example.com']);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('permissions-policy')).toContain('microphone=(self)');
    expect(res.headers.get('strict-transport-security')).toBeNull(); // not production
    expect(res.headers.get('set-cookie')).toBeNull(); // Sohbet sets no cookies
  });

  it('keeps the sandbox policy of local file downloads', async () => {
    const url = await srv.app.services.storage.downloadUrl('m/x/o', { filename: 'a.html', contentType: 'text/html', expiresInSec: 60 });
    await srv.app.services.storage.put('m/x/o', Buffer.from('<script>alert(1)</script>'), { contentType: 'text/html' });
    const res = await fetch(new URL(url, srv.url));
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
  });

  it('in production: CORS for nobody without FRONTEND_URL, HSTS on, frames refused; S3 origins in the CSP', () => {
    const base = { NODE_ENV: 'production', AUTH_JWT_SECRET: TEST_SECRET, DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'sohbet-cfg-')) };
    expect(parseConfig(base).http.corsOrigins).toEqual([]);
    const s3 = parseConfig({ ...base, AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's', AWS_BUCKET_NAME: 'files', AWS_REGION: 'eu-central-1' });
    const csp = contentSecurityPolicy(s3, 'chat.example.com');
    expect(csp).toContain('https://files.s3.eu-central-1.amazonaws.com');
    expect(csp).toMatch(/frame-ancestors 'self'(;|$)/);
    const minio = parseConfig({ ...base, AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's', AWS_BUCKET_NAME: 'files', S3_ENDPOINT: 'http://minio:9000', S3_FORCE_PATH_STYLE: '1' });
    expect(contentSecurityPolicy(minio, 'chat.example.com')).toMatch(/connect-src [^;]*http:\/\/minio:9000/);
  });
});

describe('no secrets in logs', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const secrets = {
    TWILIO_ACCOUNT_SID: 'AC0123456789abcdef0123456789abcdef',
    TWILIO_AUTH_TOKEN: 'twilio-secret-token-5f1e2d',
    TWILIO_FROM: '+15550001111',
    RESEND_API_KEY: 're_secret_resend_key_77aa',
    EMAIL_FROM: 'noreply@sohbet.test',
    WEBHOOK_URL: 'http://127.0.0.1:9/hook',
    WEBHOOK_SECRET: 'webhook-secret-value-9911',
    MEDIA_URL_SECRET: 'media-url-secret-0123456789abcdef0123456789',
    LIVEKIT_URL: 'ws://127.0.0.1:9',
    LIVEKIT_API_KEY: 'lk-api-key-3344',
    LIVEKIT_API_SECRET: 'lk-api-secret-0123456789abcdef0123456789',
  };
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({ env: { ...secrets, LOG_LEVEL: 'trace' }, app: { log: createLogger('trace', sink) } });
  }, 60_000);
  afterAll(() => srv.close());

  it('logs requests with tokens, API keys and signed URLs but never their values', async () => {
    const token = await srv.token('log-a');
    const auth = { authorization: `Bearer ${token}` };
    expect((await fetch(`${srv.url}/trpc/chat.list?input=%7B%7D`, { headers: auth })).status).toBe(200);
    await fetch(`${srv.url}/trpc/chat.list?input=%7B%7D`, { headers: { authorization: `Bearer ${token}x` } });
    await fetch(`${srv.url}/trpc/server.upsertUser`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': TEST_API_KEY }, body: JSON.stringify({ id: 'log-b', name: 'B' }) });
    const login = await fetch(`${srv.url}/trpc/auth.devLogin`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId: 'log-c' }) });
    const minted = ((await login.json()) as { result: { data: { token: string } } }).result.data.token;
    const signed = await srv.app.services.storage.downloadUrl('m/log/o', { filename: 'x.txt', contentType: 'text/plain', expiresInSec: 60 });
    await fetch(new URL(signed, srv.url));
    const sig = new URL(signed, srv.url).searchParams.get('sig')!;
    const sock = connectSocket(srv.wsUrl, token);
    await sock.ready();
    await sock.close();
    srv.app.services.log.info({ token, apiKey: TEST_API_KEY, user: { password: 'hunter2-pass' }, config: { secret: 'nested-secret-1' } }, 'an accidental log of credentials');
    await new Promise((r) => setTimeout(r, 100));

    const out = lines.join('');
    expect(out).toContain('incoming request'); // the log did capture the traffic
    expect(out).toContain('an accidental log of credentials');
    expect(out).toContain('[redacted]');
    for (const value of [token, minted, TEST_API_KEY, TEST_SECRET, sig, 'hunter2-pass', 'nested-secret-1', ...Object.values(secrets).filter((v) => /secret|token|key/i.test(v))]) {
      expect(out, `log contains ${value.slice(0, 12)}…`).not.toContain(value);
    }
  });
});
