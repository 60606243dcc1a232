import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { Database } from '../db/db.ts';
import type { NotifyConfig } from '../config/config.ts';
import type { ActiveConversations } from './notify.active.ts';
import { channelGroup, decideAtSend, DEFAULT_PREFS, retryDelayMs, type OutboxChannel, type Prefs, type SendOutcome } from './notify.domain.ts';
import { notifyRepo as repo, type Finish, type OutboxRow } from './notify.repo.ts';
import { renderEmail, renderPush, renderSms } from './notify.texts.ts';
import type { Outgoing, Provider } from './providers/provider.ts';

const pairKey = (u: string, c: string) => `${u}\u0000${c}`;

/**
 * Drains the outbox. Each pass claims due rows with a lease (any instance may run it; SKIP LOCKED
 * keeps them apart), re-checks the rules against the state as it is now, sends per provider and
 * writes every outcome back in one statement. A worker that dies mid-batch leaves its rows leased;
 * when the lease runs out another pass re-sends them with the same idempotency key.
 */
export class NotifyWorker {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private lastStats = 0;
  private lastReceipts = 0;

  constructor(
    private readonly d: {
      database: Database;
      clock: Clock;
      log: Logger;
      metrics: Metrics;
      config: NotifyConfig;
      active: ActiveConversations;
      providers: ReadonlyMap<OutboxChannel, Provider>;
      random?: () => number;
    },
  ) {}

  start(): void {
    const tick = () => {
      this.running = this.pass()
        .catch((err) => (this.d.log.warn({ err: (err as Error).message }, 'notification pass failed'), 0))
        .then((n) => {
          this.running = null;
          // A full batch means more is due: go again at once (throughput), else wait for the next poll.
          if (this.timer) this.timer = setTimeout(tick, n >= this.d.config.batch ? 0 : this.d.config.workerMs);
        });
    };
    this.timer = setTimeout(tick, this.d.config.workerMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One batch plus housekeeping (receipts, gauges); returns how many rows were claimed. */
  async pass(): Promise<number> {
    const n = await this.sendDue();
    const now = this.d.clock.now().getTime();
    if (now - this.lastReceipts >= 10_000 || this.d.config.receiptDelayMs === 0) {
      this.lastReceipts = now;
      await this.pollReceipts();
    }
    if (now - this.lastStats >= 5_000) {
      this.lastStats = now;
      const counts = await repo.countByState(this.d.database.db);
      for (const s of ['queued', 'sending', 'accepted', 'delivered', 'dead', 'skipped']) this.d.metrics.notifyOutbox.set({ state: s }, counts[s] ?? 0);
    }
    return n;
  }

  /** Runs passes until nothing is due (tests, shutdown drains). */
  async drain(maxPasses = 1000): Promise<void> {
    for (let i = 0; i < maxPasses; i++) if ((await this.sendDue()) === 0) return;
  }

  async sendDue(): Promise<number> {
    const db = this.d.database.db;
    const now = this.d.clock.now();
    const claimed = await repo.claim(db, now, new Date(now.getTime() + this.d.config.leaseMs), this.d.config.batch);
    if (!claimed.length) return 0;
    const finishes: Finish[] = [];
    const drop: string[] = [];

    const prefs = await repo.prefsOfMany(db, [...new Set(claimed.map((r) => r.userId))]);
    const msgRows = claimed.filter((r) => r.kind === 'message' || r.kind === 'support_reply');
    const pairs = msgRows.map((r) => ({ userId: r.userId, conversationId: r.conversationId! }));
    const members = await repo.memberStates(db, pairs);
    const active = await this.d.active.activeIn(pairs, now.getTime());
    const badgeUsers = claimed.filter((r) => (r.kind === 'message' || r.kind === 'support_reply' || r.kind === 'badge') && channelGroup(r.channel) === 'push').map((r) => r.userId);
    const badges = await repo.badges(db, [...new Set(badgeUsers)]);

    const byChannel = new Map<OutboxChannel, Outgoing[]>();
    for (const row of claimed) {
      const p = prefs.get(row.userId) ?? DEFAULT_PREFS;
      const key = row.conversationId ? pairKey(row.userId, row.conversationId) : '';
      const decision = decideAtSend({
        kind: row.kind,
        channel: row.channel,
        prefs: p,
        now,
        member: row.conversationId && (row.kind === 'message' || row.kind === 'support_reply') ? (members.get(key) ?? null) : undefined,
        seq: row.payload.type === 'message' ? row.payload.seq : undefined,
        activeInConversation: active.has(key),
        ageMs: now.getTime() - row.createdAt.getTime(),
      });
      if (!decision.send && decision.deferUntil) {
        // Quiet hours: back to the queue until the period ends; waiting is not a failed attempt.
        finishes.push({ id: row.id, state: 'queued', reason: decision.reason, nextAt: decision.deferUntil, notAnAttempt: true });
        this.count(row, 'deferred');
        continue;
      }
      if (!decision.send) {
        finishes.push({ id: row.id, state: 'skipped', reason: decision.reason });
        this.count(row, 'skipped');
        continue;
      }
      if (!this.d.providers.has(row.channel)) {
        finishes.push({ id: row.id, state: 'skipped', reason: 'no_provider' });
        this.count(row, 'skipped');
        continue;
      }
      let list = byChannel.get(row.channel);
      if (!list) byChannel.set(row.channel, (list = []));
      list.push(this.render(row, p, decision.silent, badges.get(row.userId) ?? 0));
    }

    await Promise.all(
      [...byChannel].map(async ([channel, items]) => {
        const provider = this.d.providers.get(channel)!;
        const end = this.d.metrics.notifySendSeconds.startTimer({ channel });
        let outcomes: SendOutcome[];
        try {
          outcomes = await provider.send(items);
        } catch (err) {
          outcomes = items.map(() => ({ ok: false, retry: true, reason: `provider error: ${(err as Error).message}`.slice(0, 300) }));
        }
        end();
        items.forEach((o, i) => finishes.push(this.outcome(o.row, outcomes[i]!, now, drop)));
      }),
    );
    await repo.finish(db, finishes, this.d.clock.now());
    if (drop.length) await repo.dropDevices(db, [...new Set(drop)], now);
    return claimed.length;
  }

  private render(row: OutboxRow, p: Prefs, silent: boolean, badge: number): Outgoing {
    const { keys: _keys, ...payload } = row.payload as OutboxRow['payload'] & { keys?: unknown };
    const data: Record<string, string> = { notificationId: String(row.id), kind: row.kind };
    for (const [k, v] of Object.entries(payload)) if (v !== null && v !== undefined && k !== 'text' && k !== 'title') data[k] = String(v);
    const r = renderPush(p.locale, payload);
    const withBadge = row.kind === 'message' || row.kind === 'support_reply' || row.kind === 'badge';
    return {
      row,
      locale: p.locale,
      title: r.title,
      body: r.body,
      badge: withBadge ? badge : null,
      silent,
      data,
      email: row.channel === 'email' ? renderEmail(p.locale, payload, this.d.config.frontendUrl) : undefined,
      sms: row.channel === 'sms' ? renderSms(p.locale, payload) : undefined,
    };
  }

  private outcome(row: OutboxRow, o: SendOutcome, now: Date, drop: string[]): Finish {
    if (o.ok) {
      this.count(row, o.delivered ? 'delivered' : 'accepted');
      return { id: row.id, state: o.delivered ? 'delivered' : 'accepted', reason: null, providerId: o.providerId };
    }
    if (o.invalidToken) {
      if (row.deviceId) drop.push(row.deviceId);
      this.count(row, 'invalid_token');
      return { id: row.id, state: 'dead', reason: `invalid_token: ${o.reason}` };
    }
    if (o.retry && row.attempts < this.d.config.maxAttempts) {
      this.count(row, 'retry');
      return { id: row.id, state: 'queued', reason: o.reason, nextAt: new Date(now.getTime() + retryDelayMs(row.attempts, o.retryAfterMs, this.d.random)) };
    }
    this.count(row, 'dead');
    this.d.log.warn({ id: row.id, channel: row.channel, reason: o.reason, attempts: row.attempts }, 'notification dead-lettered');
    return { id: row.id, state: 'dead', reason: o.retry ? `gave up after ${row.attempts} attempts: ${o.reason}` : o.reason };
  }

  /** Second step for providers that report delivery later (Expo receipts). */
  async pollReceipts(): Promise<void> {
    const now = this.d.clock.now();
    for (const provider of this.d.providers.values()) {
      if (!provider.receipts) continue;
      const due = await repo.awaitingReceipt(this.d.database.db, provider.channel, new Date(now.getTime() - this.d.config.receiptDelayMs), 300);
      if (!due.length) continue;
      const results = await provider.receipts(due);
      const drop: string[] = [];
      const finishes: Finish[] = [];
      for (const row of due) {
        const o = results.get(row.id);
        if (!o) continue;
        if (o.ok) finishes.push({ id: row.id, state: 'delivered', reason: null }), this.count(row, 'delivered');
        else {
          if (o.invalidToken && row.deviceId) drop.push(row.deviceId);
          this.count(row, o.invalidToken ? 'invalid_token' : 'dead');
          finishes.push({ id: row.id, state: 'dead', reason: o.invalidToken ? `invalid_token: ${o.reason}` : o.reason });
        }
      }
      await repo.finish(this.d.database.db, finishes, now, 'accepted');
      if (drop.length) await repo.dropDevices(this.d.database.db, drop, now);
    }
  }

  private count(row: OutboxRow, outcome: string): void {
    this.d.metrics.notifyOutcomes.inc({ channel: row.channel, kind: row.kind, outcome });
  }
}
