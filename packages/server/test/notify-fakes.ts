/**
 * Local servers that speak each notification provider's documented HTTP contract, so the real
 * production clients run against them in tests: Expo push (send + getReceipts), Google OAuth2 token
 * endpoint + FCM HTTP v1, a Web Push service (RFC 8030), Resend (with Idempotency-Key), Twilio
 * Messages, APNs over HTTP/2 + TLS, and a real SMTP server (smtp-server).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { SMTPServer } from 'smtp-server';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
export const fixture = (name: string) => readFileSync(path.join(fixtures, name), 'utf8');

export type Route = 'expo.send' | 'expo.receipts' | 'fcm.token' | 'fcm.send' | 'webpush' | 'resend' | 'twilio' | 'apns';
export interface Scripted {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Never answer (the client must time out). */
  hang?: boolean;
}
export interface Received {
  route: Route;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  raw: Buffer;
  json: any;
  form?: URLSearchParams;
}

export class FakeProviders {
  readonly received: Received[] = [];
  private readonly script = new Map<Route, Scripted[]>();
  /** Expo receipts to answer per ticket id (default ok). */
  readonly expoReceipts = new Map<string, unknown>();
  /** Resend: idempotency key → email id (a repeated key returns the first answer, as Resend does). */
  readonly resendKeys = new Map<string, string>();
  resendDuplicates = 0;
  /** Called after each Resend answer (crash tests kill the server from here, mid-batch). */
  onResend: ((keysSeen: number) => void) | null = null;
  /** Slow every answer down (crash tests need requests in flight). */
  delayMs = 0;
  private http!: http.Server;
  private h2!: http2.Http2SecureServer;
  url = '';
  apnsUrl = '';
  private n = 0;

  /** Queue answers for a route; once used up the route answers normally. */
  fail(route: Route, ...answers: Scripted[]): void {
    this.script.set(route, [...(this.script.get(route) ?? []), ...answers]);
  }

  of(route: Route): Received[] {
    return this.received.filter((r) => r.route === route);
  }

  async start(): Promise<this> {
    this.http = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void this.handle(req, res, Buffer.concat(chunks)));
    });
    await new Promise<void>((r) => this.http.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.http.address() as { port: number }).port}`;
    this.h2 = http2.createSecureServer({ key: fixture('apns-test.key.pem'), cert: fixture('apns-test.cert.pem') });
    this.h2.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => void this.handleApns(stream, headers, Buffer.concat(chunks)));
    });
    await new Promise<void>((r) => this.h2.listen(0, '127.0.0.1', r));
    this.apnsUrl = `https://localhost:${(this.h2.address() as { port: number }).port}`;
    return this;
  }

  private route(p: string): Route | null {
    if (p === '/--/api/v2/push/send') return 'expo.send';
    if (p === '/--/api/v2/push/getReceipts') return 'expo.receipts';
    if (p === '/oauth2/token') return 'fcm.token';
    if (/^\/v1\/projects\/[^/]+\/messages:send$/.test(p)) return 'fcm.send';
    if (p.startsWith('/push/')) return 'webpush';
    if (p === '/emails') return 'resend';
    if (/^\/2010-04-01\/Accounts\/[^/]+\/Messages\.json$/.test(p)) return 'twilio';
    return null;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer) {
    const p = new URL(req.url!, 'http://x').pathname;
    const route = this.route(p);
    if (!route) return void res.writeHead(404).end();
    const ct = String(req.headers['content-type'] ?? '');
    let json: any = null;
    if (ct.includes('json')) json = JSON.parse(raw.toString() || 'null');
    const form = ct.includes('x-www-form-urlencoded') ? new URLSearchParams(raw.toString()) : undefined;
    this.received.push({ route, path: p, headers: req.headers, raw, json, form });
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    const s = this.script.get(route)?.shift();
    if (s?.hang) return;
    if (s) return void res.writeHead(s.status, { 'content-type': 'application/json', ...s.headers }).end(s.body === undefined ? '' : JSON.stringify(s.body));
    const ok = (status: number, body: unknown, headers: Record<string, string> = {}) => res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    switch (route) {
      case 'expo.send':
        return ok(200, { data: (json as unknown[]).map(() => ({ status: 'ok', id: `ticket-${++this.n}` })) });
      case 'expo.receipts':
        return ok(200, { data: Object.fromEntries((json.ids as string[]).map((id) => [id, this.expoReceipts.get(id) ?? { status: 'ok' }])) });
      case 'fcm.token':
        return ok(200, { access_token: `ya29.test-${++this.n}`, expires_in: 3599, token_type: 'Bearer' });
      case 'fcm.send':
        return ok(200, { name: `projects/p/messages/${++this.n}` });
      case 'webpush':
        return ok(201, {}, { location: `${this.url}/push-message/${++this.n}` });
      case 'resend': {
        const key = String(req.headers['idempotency-key'] ?? '');
        const known = key ? this.resendKeys.get(key) : undefined;
        if (known) {
          this.resendDuplicates++;
          return ok(200, { id: known });
        }
        const id = `email-${++this.n}`;
        if (key) this.resendKeys.set(key, id);
        ok(200, { id });
        return this.onResend?.(this.resendKeys.size);
      }
      case 'twilio':
        return ok(201, { sid: `SM${createHash('md5').update(String(++this.n)).digest('hex')}`, status: 'queued' });
    }
  }

  private async handleApns(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, raw: Buffer) {
    const p = String(headers[':path']);
    this.received.push({ route: 'apns', path: p, headers, raw, json: JSON.parse(raw.toString() || 'null') });
    const s = this.script.get('apns')?.shift();
    if (s?.hang) return;
    if (s) {
      stream.respond({ ':status': s.status, 'content-type': 'application/json', ...s.headers });
      return void stream.end(s.body === undefined ? '' : JSON.stringify(s.body));
    }
    stream.respond({ ':status': 200, 'apns-id': String(headers['apns-id'] ?? 'x') });
    stream.end();
  }

  async close(): Promise<void> {
    this.http.closeAllConnections();
    await new Promise((r) => this.http.close(r));
    await new Promise((r) => this.h2.close(r));
  }
}

/** A real SMTP server on 127.0.0.1 that stores every message it accepts. */
export async function startSmtp(opts: { rejectRcpt?: (addr: string) => boolean } = {}) {
  const mails: Array<{ from: string; to: string[]; raw: string }> = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(addr, _s, cb) {
      if (opts.rejectRcpt?.(addr.address)) return cb(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({ from: String((session.envelope.mailFrom as { address: string }).address), to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString() });
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.server.address() as { port: number }).port;
  return { url: `smtp://127.0.0.1:${port}`, mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}

export const jwtOf = (authorization: unknown) => {
  const t = String(authorization).replace(/^bearer /i, '');
  return { header: decodeProtectedHeader(t), claims: decodeJwt(t) };
};

/** Env for every provider pointed at the fakes. */
export function providerEnv(f: FakeProviders, extra: Record<string, string> = {}): Record<string, string> {
  const sa = { type: 'service_account', project_id: 'sohbet-test', client_email: 'push@sohbet-test.iam.gserviceaccount.com', private_key: fixture('fcm-sa.key.pem'), token_uri: `${f.url}/oauth2/token` };
  return {
    EXPO_ACCESS_TOKEN: 'expo-test-token',
    EXPO_PUSH_URL: f.url,
    FCM_SERVICE_ACCOUNT: JSON.stringify(sa),
    FCM_PROJECT_ID: 'sohbet-test',
    FCM_URL: f.url,
    APNS_KEY_ID: 'ABC123DEFG',
    APNS_TEAM_ID: 'TEAM123456',
    APNS_KEY: fixture('apns-authkey.p8'),
    APNS_BUNDLE_ID: 'az.sohbet.app',
    APNS_HOST: f.apnsUrl,
    VAPID_PUBLIC_KEY: VAPID.publicKey,
    VAPID_PRIVATE_KEY: VAPID.privateKey,
    VAPID_SUBJECT: 'mailto:ops@sohbet.test',
    RESEND_API_KEY: 're_test_key',
    RESEND_URL: f.url,
    EMAIL_FROM: 'Sohbet <noreply@sohbet.test>',
    TWILIO_ACCOUNT_SID: 'AC0123456789abcdef0123456789abcdef',
    TWILIO_AUTH_TOKEN: 'twilio-test-token',
    TWILIO_FROM: '+15005550006',
    TWILIO_URL: f.url,
    NOTIFY_TIMEOUT_MS: '1500',
    ...extra,
  };
}

// A fixed VAPID key pair for tests (web-push generateVAPIDKeys()).
export const VAPID = {
  publicKey: 'BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U',
  privateKey: 'UUxI4O8-FbRouAevSmBQ6o18hgE4nSG3qwvJTfKc-ls',
};
