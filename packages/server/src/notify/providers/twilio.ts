import type { SendOutcome } from '../notify.domain.ts';
import { failureOf, mapLimited, networkFailure, type Outgoing, type Provider, type ProviderDeps } from './provider.ts';

/** Twilio Programmable Messaging (POST /2010-04-01/Accounts/{sid}/Messages.json, form body, Basic auth). */
export class TwilioProvider implements Provider {
  readonly channel = 'sms' as const;
  readonly name = 'Twilio SMS';
  constructor(
    private readonly cfg: { accountSid: string; authToken: string; from: string; url: string; statusCallbackUrl?: string | null },
    private readonly d: ProviderDeps & { now: () => Date },
  ) {}

  send(items: Outgoing[]): Promise<SendOutcome[]> {
    return mapLimited(items, this.d.concurrency, (o) => this.one(o));
  }

  /** The row id rides in the callback URL: the report finds its row even if it beats the worker's own write. */
  private statusCallback(rowId: number): string {
    const u = new URL(this.cfg.statusCallbackUrl!);
    u.searchParams.set('n', String(rowId));
    return u.toString();
  }

  private async one(o: Outgoing): Promise<SendOutcome> {
    let res: Response;
    try {
      res = await this.d.fetch(`${this.cfg.url}/2010-04-01/Accounts/${encodeURIComponent(this.cfg.accountSid)}/Messages.json`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${this.cfg.accountSid}:${this.cfg.authToken}`).toString('base64')}`,
        },
        body: new URLSearchParams({ To: o.row.target, From: this.cfg.from, Body: o.sms ?? '', ...(this.cfg.statusCallbackUrl ? { StatusCallback: this.statusCallback(o.row.id) } : {}) }),
        signal: AbortSignal.timeout(this.d.timeoutMs),
      });
    } catch (err) {
      return networkFailure(err);
    }
    if (res.ok) return { ok: true, providerId: ((await res.json().catch(() => ({}))) as { sid?: string }).sid ?? null };
    return failureOf(res, this.d.now(), (b) => {
      const e = b as { code?: number; message?: string };
      return e?.code ? `${e.code} ${e.message ?? ''}` : undefined;
    });
  }
}
