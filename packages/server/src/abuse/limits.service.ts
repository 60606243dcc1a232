import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { AppError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { IDENTICAL_MIN_CHARS, YOUNG_ACCOUNT_MS, type LimitAction, type Policy } from './rate-limit.domain.ts';
import type { RateLimiter, RateVerdict } from './rate-limiter.ts';

export interface LimitsDeps {
  limiter: RateLimiter;
  clock: Clock;
  log: Logger;
  policies: Readonly<Record<LimitAction, Policy | null>>;
}

/**
 * Abuse limits per user and per IP, per action. A refused action throws `rate_limited` with
 * `details: { action, retryAfterMs }` and changes nothing. When the limiter itself is down
 * (Redis outage) actions are allowed: limits protect the service, they must not stop it.
 */
export class LimitsService {
  constructor(private readonly d: LimitsDeps) {}

  /** Counts one `action` for `subject`; throws `rate_limited` when over the limit. */
  async take(action: LimitAction, subject: string): Promise<void> {
    const v = await this.check(action, subject);
    if (!v.allowed) throw limited(action, v.retryAfterMs);
  }

  /** Like take(), but returns the verdict (for paths that answer without throwing, e.g. a socket close). */
  async check(action: LimitAction, subject: string): Promise<RateVerdict> {
    const policy = this.d.policies[action];
    if (!policy) return { allowed: true, retryAfterMs: 0 };
    try {
      return await this.d.limiter.hit(`${action}:${subject}`, policy, this.d.clock.now().getTime());
    } catch (err) {
      this.d.log.warn({ err: (err as Error).message, action }, 'rate limiter unavailable; allowing');
      return { allowed: true, retryAfterMs: 0 };
    }
  }

  /** A new message: the per-user rate, and the same long text sent over and over. */
  async message(userId: string, text: string | undefined): Promise<void> {
    await this.take('message', userId);
    const normalized = (text ?? '').trim().toLowerCase().replace(/\s+/g, ' ');
    if ([...normalized].length >= IDENTICAL_MIN_CHARS) {
      await this.take('message.identical', `${userId}:${createHash('sha256').update(normalized).digest('base64url').slice(0, 22)}`);
    }
  }

  /** A new conversation: fewer for accounts this service first saw less than a day ago. */
  async newConversation(userId: string, accountCreatedAt: Date | null): Promise<void> {
    const young = accountCreatedAt !== null && this.d.clock.now().getTime() - accountCreatedAt.getTime() < YOUNG_ACCOUNT_MS;
    if (young) await this.take('conversation.new.young_account', userId);
    await this.take('conversation.new', userId);
  }
}

export function limited(action: LimitAction, retryAfterMs: number): AppError {
  return new AppError('rate_limited', `too many requests (${action}); retry in ${Math.ceil(retryAfterMs / 1000)} s`, { action, retryAfterMs });
}
