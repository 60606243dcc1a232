import { Redis } from 'ioredis';

/**
 * Which conversation each of a user's devices has open right now (the SDK tells the server with
 * notify.setActive). Entries expire after a TTL unless refreshed, so a device that vanished stops
 * suppressing pushes on its own. The Redis version is shared by all instances.
 */
export interface ActiveConversations {
  set(userId: string, deviceKey: string, conversationId: string | null, nowMs: number): Promise<void>;
  /** Of these (user, conversation) pairs, the ones open on any device: keys `${userId}\0${conversationId}`. */
  activeIn(pairs: Array<{ userId: string; conversationId: string }>, nowMs: number): Promise<Set<string>>;
  close(): Promise<void>;
}

const pairKey = (u: string, c: string) => `${u}\u0000${c}`;

export class InProcessActive implements ActiveConversations {
  private readonly byUser = new Map<string, Map<string, { conversationId: string; until: number }>>();
  constructor(private readonly ttlMs: number) {}
  async set(userId: string, deviceKey: string, conversationId: string | null, nowMs: number) {
    let m = this.byUser.get(userId);
    if (!m) this.byUser.set(userId, (m = new Map()));
    if (conversationId === null) m.delete(deviceKey);
    else m.set(deviceKey, { conversationId, until: nowMs + this.ttlMs });
    if (m.size === 0) this.byUser.delete(userId);
  }
  async activeIn(pairs: Array<{ userId: string; conversationId: string }>, nowMs: number) {
    const out = new Set<string>();
    for (const p of pairs) for (const v of this.byUser.get(p.userId)?.values() ?? []) if (v.conversationId === p.conversationId && v.until > nowMs) out.add(pairKey(p.userId, p.conversationId));
    return out;
  }
  async close() {}
}

export class RedisActive implements ActiveConversations {
  private readonly redis: Redis;
  constructor(
    url: string,
    private readonly prefix: string,
    private readonly ttlMs: number,
  ) {
    this.redis = new Redis(url, { maxRetriesPerRequest: 2 });
    this.redis.on('error', () => {});
  }
  private key(userId: string) {
    return `${this.prefix}notify:active:${userId}`;
  }
  async set(userId: string, deviceKey: string, conversationId: string | null, nowMs: number) {
    if (conversationId === null) await this.redis.hdel(this.key(userId), deviceKey);
    else await this.redis.multi().hset(this.key(userId), deviceKey, `${nowMs + this.ttlMs}|${conversationId}`).pexpire(this.key(userId), this.ttlMs * 2).exec();
  }
  async activeIn(pairs: Array<{ userId: string; conversationId: string }>, nowMs: number) {
    const out = new Set<string>();
    const users = [...new Set(pairs.map((p) => p.userId))];
    if (!users.length) return out;
    const p = this.redis.pipeline();
    for (const u of users) p.hvals(this.key(u));
    const res = (await p.exec()) ?? [];
    const open = new Map<string, Set<string>>();
    users.forEach((u, i) => {
      const vals = (res[i]?.[1] as string[] | undefined) ?? [];
      const s = new Set<string>();
      for (const v of vals) {
        const bar = v.indexOf('|');
        if (Number(v.slice(0, bar)) > nowMs) s.add(v.slice(bar + 1));
      }
      open.set(u, s);
    });
    for (const x of pairs) if (open.get(x.userId)?.has(x.conversationId)) out.add(pairKey(x.userId, x.conversationId));
    return out;
  }
  async close() {
    this.redis.disconnect();
  }
}
