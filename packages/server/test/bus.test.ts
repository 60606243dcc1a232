import { afterEach, describe, expect, it } from 'vitest';
import type { StreamEvent } from '@sohbet/protocol';
import { createLogger } from '../src/core/logger.ts';
import { InProcessBus, type Bus, type Delivery } from '../src/realtime/bus.ts';
import { InProcessPresence, RedisPresence, type Presence } from '../src/realtime/presence.ts';
import { RedisBus } from '../src/realtime/redis-bus.ts';
import { services, TEST_REDIS_PREFIX } from './harness.ts';

const log = createLogger('silent');
const ev = (text: string): StreamEvent => ({ type: 'chat.typing', data: { conversationId: 'c1', userId: text, expiresInMs: 1 } });
const settle = (ms = 50) => new Promise((r) => setTimeout(r, ms));

type Factory = () => Bus;
const buses: Array<[string, Factory]> = [['in-process', () => new InProcessBus()]];
if (services.redis) buses.push(['redis', () => new RedisBus(services.redis!, log, TEST_REDIS_PREFIX)]);

describe.each(buses)('bus contract on %s', (_name, make) => {
  const opened: Bus[] = [];
  const open = () => {
    const b = make();
    opened.push(b);
    return b;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((b) => b.close()));
  });

  it('delivers to every subscriber of the user, in publish order, and to no one else', async () => {
    const bus = open();
    const got1: Delivery[] = [];
    const got2: Delivery[] = [];
    const other: Delivery[] = [];
    bus.subscribe('u1', (d) => got1.push(d));
    bus.subscribe('u1', (d) => got2.push(d));
    bus.subscribe('u2', (d) => other.push(d));
    await bus.ready();
    bus.publish([1, 2, 3].map((i) => ({ userId: 'u1', seq: i, event: ev(`e${i}`) })));
    await settle();
    expect(got1.map((d) => d.seq)).toEqual([1, 2, 3]);
    expect(got2.map((d) => d.seq)).toEqual([1, 2, 3]);
    expect(other).toEqual([]);
    expect(got1[0]!.event).toEqual(ev('e1'));
  });

  it('stops delivering after unsubscribe', async () => {
    const bus = open();
    const got: Delivery[] = [];
    const off = bus.subscribe('u3', (d) => got.push(d));
    await bus.ready();
    off();
    await bus.ready();
    bus.publish([{ userId: 'u3', seq: null, event: ev('x') }]);
    await settle();
    expect(got).toEqual([]);
  });

  if (_name === 'redis') {
    it('fans out between two instances sharing one Redis', async () => {
      const a = open();
      const b = open();
      const got: Delivery[] = [];
      b.subscribe('cross-user', (d) => got.push(d));
      await b.ready();
      a.publish([{ userId: 'cross-user', seq: 7, event: ev('hi') }, { userId: 'cross-user', seq: null, event: ev('eph') }]);
      await settle(100);
      expect(got.map((d) => d.seq)).toEqual([7, null]);
    });

    it('tells subscribers to catch up from the log after the Redis connection drops and returns', async () => {
      const bus = open() as RedisBus;
      let gaps = 0;
      bus.subscribe('gap-user', () => {}, () => gaps++);
      await bus.ready();
      const { Redis } = await import('ioredis');
      const admin = new Redis(services.redis!);
      // Drop only this bus's subscriber connection (other suites share the Redis server).
      const list = String(await admin.client('LIST'));
      for (const line of list.split('\n')) {
        const m = /^id=(\d+) .* name=(\S+)/.exec(line);
        if (m && m[2] === `sohbet:${bus.instanceId}:sub`) await admin.client('KILL', 'ID', m[1]!);
      }
      admin.disconnect();
      const end = Date.now() + 5000;
      while (gaps === 0 && Date.now() < end) await settle(50);
      expect(gaps).toBeGreaterThanOrEqual(1);
      // The channel was subscribed again on the new connection.
      const got: Delivery[] = [];
      bus.subscribe('gap-user', (d) => got.push(d));
      await bus.ready();
      open().publish([{ userId: 'gap-user', seq: 9, event: ev('after') }]);
      await expect.poll(() => got.map((d) => d.seq), { timeout: 2000 }).toEqual([9]);
    });

    it('keeps a subscription made while the connection is still in its handshake', async () => {
      // A server that registers its listeners while ioredis is between "connect" and "ready".
      const bus = open() as RedisBus;
      const got: Delivery[] = [];
      const sub = (bus as unknown as { sub: import('ioredis').Redis }).sub;
      await new Promise<void>((resolve) =>
        sub.once('connect', () => {
          bus.subscribe('handshake-user', (d) => got.push(d));
          resolve();
        }),
      );
      await bus.ready();
      open().publish([{ userId: 'handshake-user', seq: 1, event: ev('x') }]);
      await expect.poll(() => got.map((d) => d.seq), { timeout: 2000 }).toEqual([1]);
    });
  }
});

const presences: Array<[string, () => Presence]> = [['in-process', () => new InProcessPresence()]];
if (services.redis) presences.push(['redis', () => new RedisPresence(services.redis!, TEST_REDIS_PREFIX)]);

describe.each(presences)('presence contract on %s', (_name, make) => {
  it('is online while any device is connected and reports each transition once', async () => {
    const p = make();
    const user = `p-${Math.random().toString(36).slice(2)}`;
    expect(await p.connect(user, 'd1')).toBe(true);
    expect(await p.connect(user, 'd2')).toBe(false);
    expect([...(await p.online([user, 'nobody']))]).toEqual([user]);
    expect(await p.disconnect(user, 'd1')).toBe(false);
    expect(await p.disconnect(user, 'd2')).toBe(true);
    expect(await p.disconnect(user, 'd2')).toBe(false);
    expect((await p.online([user])).size).toBe(0);
    await p.close();
  });
});
