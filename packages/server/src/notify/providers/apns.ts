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
 * APNs over HTTP/2 with a token (.p8) key: POST /3/device/<token>. Two modes on one key:
 * `voip` — PushKit pushes for incoming calls (apns-push-type voip, topic <bundle>.voip);
 * `alert` — regular pushes to an app's APNs device token (apns-push-type alert, topic <bundle>):
 * title and body, the G4 badge, a thread and collapse id per conversation (a newer push replaces
 * the older one in Notification Center), silent during quiet hours; badge-only follow-ups go as
 * background pushes. The JWT is refreshed every 50 minutes (Apple rejects tokens older than an hour
 * and ones refreshed more often than every 20 minutes).
 */
export class ApnsProvider implements Provider {
  readonly channel: 'apns_voip' | 'apns';
  readonly name: string;
  private session: http2.ClientHttp2Session | null = null;
  private jwt: { value: string; at: number } | null = null;
  private readonly keyPem: string;

  constructor(
    private readonly cfg: { keyId: string; teamId: string; key: string; bundleId: string; host: string },
    private readonly d: ProviderDeps & { now: () => Date; ca?: string },
    private readonly mode: 'voip' | 'alert' = 'voip',
  ) {
    this.channel = mode === 'voip' ? 'apns_voip' : 'apns';
    this.name = mode === 'voip' ? 'APNs (VoIP)' : 'APNs (alerts)';
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
    const { payload, headers: modeHeaders } = this.mode === 'voip' ? this.voip(o) : this.alert(o);
    const headers = {
      ':method': 'POST',
      ':path': `/3/device/${o.row.target}`,
      authorization: `bearer ${jwt}`,
      ...modeHeaders,
      'apns-id': id,
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

  private voip(o: Outgoing): { payload: string; headers: Record<string, string> } {
    const payload = JSON.stringify({ aps: {}, ...o.data, ...(o.title ? { title: o.title } : {}), ...(o.body ? { body: o.body } : {}) });
    return {
      payload,
      headers: {
        'apns-topic': `${this.cfg.bundleId}.voip`,
        'apns-push-type': 'voip',
        'apns-priority': '10',
        // A ring that could not be delivered within 30 s is worthless; the stop follow-up likewise.
        'apns-expiration': String(Math.floor(this.d.now().getTime() / 1000) + 30),
        ...(o.data.callId ? { 'apns-collapse-id': o.data.callId.slice(0, 64) } : {}),
      },
    };
  }

  private alert(o: Outgoing): { payload: string; headers: Record<string, string> } {
    const call = o.row.kind === 'call_incoming' || o.row.kind === 'call_stop';
    const now = Math.floor(this.d.now().getTime() / 1000);
    const conversation = o.row.conversationId;
    const shown = o.title !== null || o.body !== null;
    // Badge follow-ups and "stop ringing" carry nothing to show: a background push (badge only).
    const background = !shown || o.row.kind === 'call_stop';
    const aps: Record<string, unknown> = background
      ? { 'content-available': 1, ...(o.badge !== null ? { badge: o.badge } : {}) }
      : {
          alert: { ...(o.title ? { title: o.title } : {}), ...(o.body ? { body: o.body } : {}) },
          ...(o.badge !== null ? { badge: o.badge } : {}),
          ...(o.silent ? {} : { sound: 'default' }),
          ...(conversation ? { 'thread-id': conversation } : {}),
          ...(call ? { 'interruption-level': 'time-sensitive' } : {}),
        };
    return {
      payload: JSON.stringify({ aps, ...o.data }),
      headers: {
        'apns-topic': this.cfg.bundleId,
        'apns-push-type': background ? 'background' : 'alert',
        // Apple requires priority 5 for background pushes; alerts go at once (10).
        'apns-priority': background ? '5' : '10',
        'apns-expiration': String(now + (call ? 30 : 86_400)),
        // Calls and missed calls collapse per call; messages and badges per conversation.
        ...(o.data.callId ? { 'apns-collapse-id': o.data.callId.slice(0, 64) } : conversation ? { 'apns-collapse-id': conversation.slice(0, 64) } : {}),
      },
    };
  }

  async close(): Promise<void> {
    this.session?.close();
    this.session = null;
  }
}
