import { Redis } from 'ioredis';
import { slidingVerdict, type Policy } from './rate-limit.domain.ts';

export interface RateVerdict {
  allowed: boolean;
  retryAfterMs: number;
}

/**
 * Counts hits per key in a sliding window. The Redis implementation is shared by every
 * instance; the in-process one serves a single instance. Both take the time from the caller
 * (the app clock), so tests drive them with a manual clock.
 */
export interface RateLimiter {
  /** Counts one hit for `key` when it fits the policy; a refused hit is not counted. */
  hit(key: string, policy: Policy, nowMs: number): Promise<RateVerdict>;
  close(): Promise<void>;
}

/** Windows of this instance; bounded (oldest keys go first) so a key-spraying client cannot grow memory. */
export class InProcessRateLimiter implements RateLimiter {
  private readonly counts = new Map<string, number>();
  constructor(private readonly maxKeys = 200_000) {}

  async hit(key: string, p: Policy, nowMs: number): Promise<RateVerdict> {
    const idx = Math.floor(nowMs / p.windowMs);
    const ck = `${key}|${p.windowMs}|${idx}`;
    const prev = this.counts.get(`${key}|${p.windowMs}|${idx - 1}`) ?? 0;
    const curr = this.counts.get(ck) ?? 0;
    const v = slidingVerdict({ prev, curr, elapsedMs: nowMs - idx * p.windowMs }, p);
    if (v.allowed) {
      this.counts.delete(ck); // re-insert at the end: Map order is our eviction order
      this.counts.set(ck, curr + 1);
      while (this.counts.size > this.maxKeys) this.counts.delete(this.counts.keys().next().value!);
    }
    return v;
  }

  async close(): Promise<void> {}
}

// The same arithmetic as slidingVerdict(), atomically in Redis (one round trip, no race between instances).
const SCRIPT = `
local now, win, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local idx = math.floor(now / win)
local ck = KEYS[1] .. '|' .. win .. '|' .. idx
local prev = tonumber(redis.call('GET', KEYS[1] .. '|' .. win .. '|' .. (idx - 1)) or '0')
local curr = tonumber(redis.call('GET', ck) or '0')
local elapsed = now - idx * win
local estimate = prev * (1 - elapsed / win) + curr
if estimate + 1 <= limit + 1e-9 then
  redis.call('INCR', ck)
  redis.call('PEXPIRE', ck, win * 2)
  return {1, 0}
end
local room = limit - 1
local wait
if curr <= room and prev > 0 then
  wait = win * (1 - (room - curr) / prev) - elapsed
else
  local t = 0
  if curr > 0 then t = win * math.max(0, 1 - room / curr) end
  wait = win - elapsed + t
end
return {0, math.max(1, math.ceil(wait))}
`;

export class RedisRateLimiter implements RateLimiter {
  private readonly redis: Redis;
  constructor(url: string, private readonly prefix = 'sohbet:') {
    this.redis = new Redis(url, { maxRetriesPerRequest: 2 });
    this.redis.on('error', () => {});
    this.redis.defineCommand('sohbetRateHit', { numberOfKeys: 1, lua: SCRIPT });
  }

  async hit(key: string, p: Policy, nowMs: number): Promise<RateVerdict> {
    const r = (await (this.redis as unknown as { sohbetRateHit(k: string, ...a: number[]): Promise<[number, number]> }).sohbetRateHit(
      `${this.prefix}rl:${key}`,
      nowMs,
      p.windowMs,
      p.limit,
    )) as [number, number];
    return { allowed: r[0] === 1, retryAfterMs: Number(r[1]) };
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
