import { createHash } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import type { SendOutcome } from '../notify.domain.ts';
import { failureOf, mapLimited, networkFailure, type Outgoing, type Provider, type ProviderDeps } from './provider.ts';

/** Resend (https://resend.com/docs/api-reference/emails/send-email), with its Idempotency-Key so a resend after a crash is not a second email. */
export class ResendProvider implements Provider {
  readonly channel = 'email' as const;
  readonly name = 'Resend email';
  constructor(
    private readonly cfg: { apiKey: string; url: string; from: string },
    private readonly d: ProviderDeps & { now: () => Date },
  ) {}

  send(items: Outgoing[]): Promise<SendOutcome[]> {
    return mapLimited(items, this.d.concurrency, (o) => this.one(o));
  }

  private async one(o: Outgoing): Promise<SendOutcome> {
    const e = o.email!;
    let res: Response;
    try {
      res = await this.d.fetch(`${this.cfg.url}/emails`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.cfg.apiKey}`, 'idempotency-key': o.row.idempotencyKey.slice(0, 256) },
        body: JSON.stringify({ from: this.cfg.from, to: [o.row.target], subject: e.subject, html: e.html, text: e.text }),
        signal: AbortSignal.timeout(this.d.timeoutMs),
      });
    } catch (err) {
      return networkFailure(err);
    }
    if (res.ok) return { ok: true, providerId: ((await res.json().catch(() => ({}))) as { id?: string }).id ?? null };
    return failureOf(res, this.d.now(), (b) => (b as { message?: string })?.message);
  }
}

/** SMTP through nodemailer; the Message-ID comes from the idempotency key so receivers can drop a resend. */
export class SmtpProvider implements Provider {
  readonly channel = 'email' as const;
  readonly name = 'SMTP email';
  private readonly transport: Transporter;
  constructor(
    cfg: { url: string; from: string },
    private readonly d: ProviderDeps,
  ) {
    this.from = cfg.from;
    this.transport = nodemailer.createTransport(cfg.url, {
      pool: true,
      maxConnections: Math.min(5, d.concurrency),
      connectionTimeout: d.timeoutMs,
      greetingTimeout: d.timeoutMs,
      socketTimeout: d.timeoutMs,
    } as object);
  }
  private readonly from: string;

  send(items: Outgoing[]): Promise<SendOutcome[]> {
    return mapLimited(items, Math.min(5, this.d.concurrency), (o) => this.one(o));
  }

  private async one(o: Outgoing): Promise<SendOutcome> {
    const e = o.email!;
    const messageId = `<${createHash('sha256').update(o.row.idempotencyKey).digest('hex').slice(0, 32)}@sohbet>`;
    try {
      const info = await this.transport.sendMail({ from: this.from, to: o.row.target, subject: e.subject, text: e.text, html: e.html, messageId });
      return { ok: true, providerId: info.messageId ?? messageId };
    } catch (err) {
      const code = (err as { responseCode?: number }).responseCode;
      // 5xx: the server refused for good (bad mailbox, policy); 4xx and connection trouble: try again later.
      if (code && code >= 500) return { ok: false, retry: false, reason: `SMTP ${code}: ${(err as Error).message}`.slice(0, 500) };
      if (code) return { ok: false, retry: true, reason: `SMTP ${code}: ${(err as Error).message}`.slice(0, 500) };
      return networkFailure(err);
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}
