import { Redis } from 'ioredis';

/**
 * Which users have a live socket anywhere. Multi-device aware: a user is online while any of
 * their connections is. The Redis version is shared by all instances; entries carry an
 * expiry so a crashed instance's connections fade out on their own.
 */
export interface Presence {
  /** Returns true when the user just came online (first connection anywhere). */
  connect(userId: string, connId: string): Promise<boolean>;
  /** Returns true when the user just went offline (last connection anywhere). */
  disconnect(userId: string, connId: string): Promise<boolean>;
  /** Keeps this instance's connections alive; called periodically. */
  heartbeat(entries: Array<{ userId: string; connId: string }>): Promise<void>;
  online(userIds: string[]): Promise<Set<string>>;
  close(): Promise<void>;
}

export const PRESENCE_TTL_MS = 60_000;

export class InProcessPresence implements Presence {
  private readonly conns = new Map<string, Set<string>>();

  async connect(userId: string, connId: string) {
    let s = this.conns.get(userId);
    const first = !s;
    if (!s) this.conns.set(userId, (s = new Set()));
    s.add(connId);
    return first;
  }
  async disconnect(userId: string, connId: string) {
    const s = this.conns.get(userId);
    if (!s || !s.delete(connId)) return false;
    if (s.size === 0) this.conns.delete(userId);
    return s.size === 0;
  }
  async heartbeat() {}
  async online(userIds: string[]) {
    return new Set(userIds.filter((u) => this.conns.has(u)));
  }
  async close() {}
}

export class RedisPresence implements Presence {
  private readonly redis: Redis;
  private readonly key: (userId: string) => string;
  constructor(url: string, prefix = 'sohbet:') {
    this.key = (userId) => `${prefix}presence:${userId}`;
    this.redis = new Redis(url, { maxRetriesPerRequest: 2 });
    this.redis.on('error', () => {});
  }

  async connect(userId: string, connId: string) {
    const now = Date.now();
    const r = await this.redis
      .multi()
      .zremrangebyscore(this.key(userId), 0, now)
      .zcard(this.key(userId))
      .zadd(this.key(userId), now + PRESENCE_TTL_MS, connId)
      .pexpire(this.key(userId), PRESENCE_TTL_MS * 2)
      .exec();
    return Number(r?.[1]?.[1] ?? 0) === 0;
  }
  async disconnect(userId: string, connId: string) {
    const now = Date.now();
    const r = await this.redis.multi().zrem(this.key(userId), connId).zremrangebyscore(this.key(userId), 0, now).zcard(this.key(userId)).exec();
    const removed = Number(r?.[0]?.[1] ?? 0) === 1;
    return removed && Number(r?.[2]?.[1] ?? 0) === 0;
  }
  async heartbeat(entries: Array<{ userId: string; connId: string }>) {
    if (entries.length === 0) return;
    const p = this.redis.pipeline();
    const until = Date.now() + PRESENCE_TTL_MS;
    for (const e of entries) p.zadd(this.key(e.userId), until, e.connId).pexpire(this.key(e.userId), PRESENCE_TTL_MS * 2);
    await p.exec();
  }
  async online(userIds: string[]) {
    const now = Date.now();
    const p = this.redis.pipeline();
    for (const u of userIds) p.zcount(this.key(u), now, '+inf');
    const r = (await p.exec()) ?? [];
    return new Set(userIds.filter((_, i) => Number(r[i]?.[1] ?? 0) > 0));
  }
  async close() {
    this.redis.disconnect();
  }
}
