import { AppError } from '../core/errors.ts';
import { PRESENCE_TTL_MS } from '../realtime/presence.ts';
import type { SupportDeps, SupportService } from './support.service.ts';
import { supportRepo as repo, type SupportChatRow } from './support.repo.ts';

/**
 * The durable timers of live support. None lives in process memory: each is a due time in a row
 * (offer_expires_at, disconnected_at + grace, seen_at gone stale, queued_at/assigned_at + SLA,
 * last_activity_at + inactivity limit), and firing one is a conditional UPDATE or a move() with
 * a version check, so with several instances sweeping each timer fires exactly once and a restart
 * only delays it to the next sweep.
 */
export class SupportTimers {
  constructor(
    private readonly s: SupportService,
    private readonly d: SupportDeps,
  ) {}

  async sweep(): Promise<void> {
    const now = this.d.clock.now();
    await this.expireOffers(now);
    // An instance that crashed never recorded its operators' disconnect: their last heartbeat
    // (refreshed every PRESENCE_TTL_MS / 3) going stale starts the grace from that heartbeat.
    await repo.markStaleDisconnected(this.d.database.db, new Date(now.getTime() - PRESENCE_TTL_MS));
    const cutoff = new Date(now.getTime() - this.d.config.operatorGraceMs);
    const gone = (await repo.operators(this.d.database.db)).filter((o) => o.disconnectedAt && o.disconnectedAt <= cutoff && o.activeChats > 0).map((o) => o.userId);
    if (gone.length) await this.requeueHeld(gone);
    await this.slaWarnings(now);
    await this.inactivityClose(now);
    await this.s.drain();
  }

  /** Expired offers go back to the queue; the next drain offers them to the next operator. */
  private async expireOffers(now: Date): Promise<void> {
    for (;;) {
      const n = await this.s.write(async (tx, emit) => {
        const due = await repo.claimDueOffers(tx, now, 20);
        for (const chat of due) {
          const decision = { candidates: [], excluded: [{ operatorId: chat.offeredTo!, reason: 'skipped' as const }], winner: null, reason: 'offer_timeout' };
          await this.s.move(tx, emit, chat, 'offer_expired', { offeredTo: null, offerExpiresAt: null, skippedBy: [...new Set([...chat.skippedBy, chat.offeredTo!])] }, { release: chat.offeredTo, stale: 'support.invalid_state' }, decision);
        }
        return due.length;
      });
      if (n < 20) break;
    }
  }

  /** Puts every chat held by these operators back in the queue with its original queued_at. */
  async requeueHeld(operatorIds: string[]): Promise<void> {
    for (const op of operatorIds) {
      for (const chat of await repo.heldBy(this.d.database.db, op)) {
        await this.s
          .write(async (tx, emit) => {
            const holder = chat.state === 'offered' ? chat.offeredTo : chat.operatorId;
            const decision = { candidates: [], excluded: [{ operatorId: op, reason: 'disconnected' as const }], winner: null };
            const moved = await this.s.move(tx, emit, chat, 'operator_gone', { operatorId: null, offeredTo: null, offerExpiresAt: null, assignedAt: null }, { release: holder, stale: 'support.invalid_state' }, decision);
            if (chat.state !== 'offered') await this.s.setMembership(tx, emit, moved, null, op);
          })
          .catch((err) => {
            if (!(err instanceof AppError)) throw err; // changed meanwhile (resolved, transferred): nothing to re-queue
          });
      }
    }
  }

  /** Waiting too long, or assigned without a reply: each warning fires once, to every operator. */
  private async slaWarnings(now: Date): Promise<void> {
    const { slaWaitMs, slaFirstResponseMs } = this.d.config;
    const fire = async (kind: 'wait' | 'first_response', claim: (tx: Parameters<Parameters<SupportService['write']>[0]>[0]) => Promise<SupportChatRow[]>) => {
      await this.s.write(async (tx, emit) => {
        const due = await claim(tx);
        if (due.length === 0) return;
        const ops = (await repo.operators(tx)).map((o) => o.userId);
        for (const c of due) {
          emit(ops, 'support.sla.warning', { chatId: c.id, kind, topic: c.topic, priority: c.priority });
          this.d.metrics.slaBreaches.inc({ topic: c.topic, priority: c.priority, kind });
        }
      });
    };
    if (slaWaitMs > 0) await fire('wait', (tx) => repo.claimSlaWait(tx, new Date(now.getTime() - slaWaitMs), now));
    if (slaFirstResponseMs > 0) await fire('first_response', (tx) => repo.claimSlaFirstResponse(tx, new Date(now.getTime() - slaFirstResponseMs), now));
  }

  /** Owned chats where nobody wrote for the configured time are resolved (snoozed ones are left alone). */
  private async inactivityClose(now: Date): Promise<void> {
    if (this.d.config.inactivityCloseMs <= 0) return;
    const idle = await repo.inactive(this.d.database.db, new Date(now.getTime() - this.d.config.inactivityCloseMs), 50);
    for (const chat of idle) {
      try {
        await this.s.close(chat, chat.operatorId, { reason: 'inactivity' });
        this.d.metrics.autoClosed.inc({ topic: chat.topic, priority: chat.priority });
      } catch (err) {
        if (!(err instanceof AppError)) throw err; // another instance closed it, or someone wrote meanwhile
      }
    }
  }
}
