import { createHmac, randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { rows, sql, type Database, type Executor } from '../db/db.ts';
import { webhookOutbox } from '../db/schema.ts';

export type WebhookType = 'message.created' | 'message.updated' | 'message.deleted' | 'user.reported'
  // safety
  | 'report.resolved' | 'user.suspended' | 'user.unsuspended';

/**
 * Signature the host backend checks: `Sohbet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`.
 * Reject deliveries whose t is more than 5 minutes old to stop replays.
 */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

const MAX_ATTEMPTS = 12;

/** Retry delay after the n-th failed attempt: 2s, 4s, 8s ... capped at one hour, with jitter. */
export function backoffMs(attempt: number, random = Math.random): number {
  const base = Math.min(3_600_000, 1000 * 2 ** attempt);
  return Math.round(base * (0.8 + 0.4 * random()));
}

/**
 * Durable outbox of webhook deliveries: rows are written in the same transaction as the change
 * they describe, then delivered by a worker any instance may run (rows are claimed with
 * FOR UPDATE SKIP LOCKED, so two instances never send the same delivery at once).
 */
export class WebhookOutbox {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly d: { database: Database; clock: Clock; log: Logger; url: string; secret: string; fetch?: typeof fetch },
  ) {}

  async enqueue(ex: Executor, type: WebhookType, data: unknown): Promise<void> {
    const body = JSON.stringify({ id: `wh_${randomUUID()}`, type, createdAt: this.d.clock.now().toISOString(), data });
    await ex.insert(webhookOutbox).values({ type, body });
  }

  start(intervalMs = 1000): void {
    const tick = () => {
      this.running = this.deliverDue()
        .then(() => undefined)
        .catch((err) => this.d.log.warn({ err: (err as Error).message }, 'webhook delivery pass failed'))
        .finally(() => {
          this.running = null;
          if (this.timer) this.timer = setTimeout(tick, intervalMs);
        });
    };
    this.timer = setTimeout(tick, intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Delivers every due row once; returns how many were delivered. */
  async deliverDue(batch = 50): Promise<number> {
    let delivered = 0;
    await this.d.database.db.transaction(async (tx) => {
      const due = await rows<{ id: number; body: string; attempts: number }>(
        tx,
        sql`select id, body, attempts from webhook_outbox
            where delivered_at is null and failed_at is null and next_attempt_at <= ${this.d.clock.now().toISOString()}
            order by id limit ${batch} for update skip locked`,
      );
      for (const row of due) {
        const error = await this.post(row.body);
        const attempts = Number(row.attempts) + 1;
        if (!error) {
          delivered++;
          await tx.execute(sql`update webhook_outbox set delivered_at = now(), attempts = ${attempts}, last_error = null where id = ${row.id}`);
        } else if (attempts >= MAX_ATTEMPTS) {
          this.d.log.error({ id: row.id, error }, 'webhook delivery gave up');
          await tx.execute(sql`update webhook_outbox set failed_at = now(), attempts = ${attempts}, last_error = ${error} where id = ${row.id}`);
        } else {
          const next = new Date(this.d.clock.now().getTime() + backoffMs(attempts));
          await tx.execute(
            sql`update webhook_outbox set attempts = ${attempts}, last_error = ${error}, next_attempt_at = ${next.toISOString()} where id = ${row.id}`,
          );
        }
      }
    });
    return delivered;
  }

  private async post(body: string): Promise<string | null> {
    const t = Math.floor(this.d.clock.now().getTime() / 1000);
    try {
      const res = await (this.d.fetch ?? fetch)(this.d.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'sohbet-signature': signWebhook(this.d.secret, t, body) },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      return res.ok ? null : `HTTP ${res.status}`;
    } catch (err) {
      return (err as Error).message;
    }
  }
}
