import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import { importPKCS8, SignJWT } from 'jose';
import type { SendOutcome } from '../notify.domain.ts';
import { httpFailure, parseRetryAfter } from '../notify.domain.ts';
import { mapLimited, networkFailure, type Outgoing, type Provider, type ProviderDeps } from './provider.ts';

/** apns-id from the idempotency key: a resend after a crash carries the same id. */
export function apnsId(key: string): string {
  const h = createHash('sha256').update(key).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`.toUpperCase();
}

/**
 * APNs over HTTP/2 with a token (.p8) key, for PushKit VoIP pushes (iOS incoming calls): POST
 * /3/device/<token> with apns-push-type voip and topic <bundle>.voip. The JWT is refreshed every 50 minutes
 * (Apple rejects tokens older than an hour and ones refreshed more often than every 20 minutes).
 */
export class ApnsProvider implements Provider {
  readonly channel = 'apns_voip' as const;
  readonly name = 'APNs (VoIP)';
  private session: http2.ClientHttp2Session | null = null;
  private jwt: { value: string; at: number } | null = null;
  private readonly keyPem: string;

  constructor(
    private readonly cfg: { keyId: string; teamId: string; key: string; bundleId: string; host: string },
    private readonly d: ProviderDeps & { now: () => Date; ca?: string },
  ) {
    this.keyPem = cfg.key.includes('BEGIN PRIVATE KEY') ? cfg.key : readFileSync(cfg.key, 'utf8');
  }

  private async token(): Promise<string> {
    const now = Date.now();
    if (this.jwt && now - this.jwt.at < 50 * 60_000) return this.jwt.value;
    const key = await importPKCS8(this.keyPem, 'ES256');
    const value = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: this.cfg.keyId }).setIssuer(this.cfg.teamId).setIssuedAt(Math.floor(now / 1000)).sign(key);
    this.jwt = { value, at: now };
    return value;
  }

  private connect(): http2.ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const s = http2.connect(this.cfg.host, this.d.ca ? { ca: this.d.ca } : {});
    s.on('error', () => {
      if (this.session === s) this.session = null;
    });
    s.on('goaway', () => {
      if (this.session === s) this.session = null;
    });
    s.on('close', () => {
      if (this.session === s) this.session = null;
    });
    this.session = s;
    return s;
  }

  send(items: Outgoing[]): Promise<SendOutcome[]> {
    return mapLimited(items, this.d.concurrency, (o) => this.one(o));
  }

  private async one(o: Outgoing, retried = false): Promise<SendOutcome> {
    const jwt = await this.token();
    const id = apnsId(o.row.idempotencyKey);
    const payload = JSON.stringify({ aps: {}, ...o.data, ...(o.title ? { title: o.title } : {}), ...(o.body ? { body: o.body } : {}) });
    const headers = {
      ':method': 'POST',
      ':path': `/3/device/${o.row.target}`,
      authorization: `bearer ${jwt}`,
      'apns-topic': `${this.cfg.bundleId}.voip`,
      'apns-push-type': 'voip',
      'apns-priority': '10',
      // A ring that could not be delivered within 30 s is worthless; the stop follow-up likewise.
      'apns-expiration': String(Math.floor(this.d.now().getTime() / 1000) + 30),
      'apns-id': id,
      ...(o.data.callId ? { 'apns-collapse-id': o.data.callId.slice(0, 64) } : {}),
      'content-type': 'application/json',
    };
    let r: { status: number; body: string; headers: http2.IncomingHttpHeaders };
    try {
      r = await new Promise((resolve, reject) => {
        const req = this.connect().request(headers);
        req.setTimeout(this.d.timeoutMs, () => req.close(http2.constants.NGHTTP2_CANCEL, () => reject(Object.assign(new Error('timeout'), { name: 'TimeoutError' }))));
        let status = 0;
        let h: http2.IncomingHttpHeaders = {};
        const chunks: Buffer[] = [];
        req.on('response', (hh) => ((h = hh), (status = Number(hh[':status']))));
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => resolve({ status, body: Buffer.concat(chunks).toString(), headers: h }));
        req.on('error', reject);
        req.end(payload);
      });
    } catch (err) {
      return networkFailure(err);
    }
    if (r.status === 200) return { ok: true, providerId: String(r.headers['apns-id'] ?? id) };
    let reason = '';
    try {
      reason = (JSON.parse(r.body) as { reason?: string }).reason ?? '';
    } catch {
      reason = r.body.slice(0, 200);
    }
    if (r.status === 403 && reason === 'ExpiredProviderToken' && !retried) {
      this.jwt = null;
      return this.one(o, true);
    }
    const f = httpFailure(r.status, reason, parseRetryAfter(r.headers['retry-after'] as string | undefined, this.d.now()));
    if (r.status === 410 || reason === 'BadDeviceToken' || reason === 'Unregistered' || reason === 'DeviceTokenNotForTopic') return { ...f, retry: false, invalidToken: true };
    return f;
  }

  async close(): Promise<void> {
    this.session?.close();
    this.session = null;
  }
}
