import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { InProcessActive, RedisActive, type ActiveConversations } from './notify.active.ts';

const redisUrl = process.env.TEST_REDIS_URL || null;
const kinds: Array<[string, () => ActiveConversations]> = [['in-process', () => new InProcessActive(60_000)]];
if (redisUrl) kinds.push(['Redis', () => new RedisActive(redisUrl, `sohbet-t-${randomBytes(4).toString('hex')}:`, 60_000)]);

describe.each(kinds)('open-conversation registry (%s)', (_name, make) => {
  const store = make();
  afterAll(() => store.close());

  it('a user is active in a conversation while any device shows it, until the TTL passes without a refresh', async () => {
    const t = 1_000_000;
    await store.set('u1', 'phone', 'c1', t);
    await store.set('u1', 'laptop', 'c2', t);
    const q = [{ userId: 'u1', conversationId: 'c1' }, { userId: 'u1', conversationId: 'c2' }, { userId: 'u1', conversationId: 'c3' }, { userId: 'u2', conversationId: 'c1' }];
    expect([...(await store.activeIn(q, t + 1000))].sort()).toEqual(['u1\u0000c1', 'u1\u0000c2']);
    await store.set('u1', 'phone', null, t + 2000);
    expect([...(await store.activeIn(q, t + 3000))]).toEqual(['u1\u0000c2']);
    expect([...(await store.activeIn(q, t + 61_000))]).toEqual([]);
  });
});
