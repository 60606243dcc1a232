import webPush from 'web-push';
import type { SendOutcome } from '../notify.domain.ts';
import { failureOf, mapLimited, networkFailure, type Outgoing, type Provider, type ProviderDeps } from './provider.ts';

/**
 * Web Push with VAPID (RFC 8030/8291/8292): web-push encrypts the payload (aes128gcm) and signs the
 * VAPID JWT; the request goes out through fetch so timeouts and errors are handled like every provider.
 * 404/410 from the push service = the subscription is gone.
 */
export class WebPushProvider implements Provider {
  readonly channel = 'webpush' as const;
  readonly name = 'Web Push (VAPID)';
  constructor(
    private readonly cfg: { publicKey: string; privateKey: string; subject: string },
    private readonly d: ProviderDeps & { now: () => Date },
  ) {
    // Fails at startup on malformed keys rather than at the first send.
    webPush.generateRequestDetails({ endpoint: 'https://push.invalid/x', keys: { p256dh: 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM', auth: 'tBHItJI5svbpez7KI4CCXg' } }, null, {
      vapidDetails: cfg,
    });
  }

  send(items: Outgoing[]): Promise<SendOutcome[]> {
    return mapLimited(items, this.d.concurrency, (o) => this.one(o));
  }

  private async one(o: Outgoing): Promise<SendOutcome> {
    const keys = (o.row.payload as { keys?: { p256dh: string; auth: string } }).keys;
    if (!keys) return { ok: false, retry: false, invalidToken: true, reason: 'webpush: subscription keys missing' };
    const call = o.row.kind === 'call_incoming' || o.row.kind === 'call_stop';
    const body = JSON.stringify({ title: o.title, body: o.body, badge: o.badge, silent: o.silent, data: o.data });
    let details: ReturnType<typeof webPush.generateRequestDetails>;
    try {
      details = webPush.generateRequestDetails({ endpoint: o.row.target, keys }, body, {
        vapidDetails: this.cfg,
        TTL: call ? 30 : 86_400,
        urgency: o.row.priority === 'high' ? 'high' : 'normal',
        // Topic replaces an undelivered push with the same topic at the push service (collapse per conversation).
        ...(o.row.collapseKey ? { topic: Buffer.from(o.row.collapseKey).toString('base64url').slice(0, 32) } : {}),
      });
    } catch (err) {
      return { ok: false, retry: false, invalidToken: true, reason: `webpush: ${(err as Error).message}`.slice(0, 300) };
    }
    let res: Response;
    try {
      const { 'Content-Length': _len, ...headers } = details.headers as Record<string, string>;
      res = await this.d.fetch(details.endpoint, { method: details.method, headers, body: new Uint8Array(details.body as Buffer), signal: AbortSignal.timeout(this.d.timeoutMs) });
    } catch (err) {
      return networkFailure(err);
    }
    if (res.ok) {
      await res.arrayBuffer().catch(() => undefined);
      return { ok: true, providerId: res.headers.get('location') };
    }
    const f = await failureOf(res, this.d.now());
    if (res.status === 404 || res.status === 410) return { ...f, retry: false, invalidToken: true };
    return f;
  }
}
