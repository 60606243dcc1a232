import { describe, expect, it } from 'vitest';
import { backoffDelayMs, socketUrl } from '../src/connection.ts';
import { SohbetError, toSohbetError } from '../src/errors.ts';
import { newClientId } from '../src/outbox.ts';
import { asKeyValueStorage, PersistedValue } from '../src/storage.ts';
import { mergeMessages, withMessage } from '../src/timeline.ts';
import type { ConversationDTO, MessageDTO } from '@sohbet/protocol';

describe('SDK building blocks', () => {
  it('derives the socket URL from an http(s) URL and keeps a ws(s) one', () => {
    expect(socketUrl('http://localhost:3000')).toBe('ws://localhost:3000/ws');
    expect(socketUrl('https://chat.example.com/base/')).toBe('wss://chat.example.com/base/ws');
    expect(socketUrl('wss://chat.example.com/ws')).toBe('wss://chat.example.com/ws');
    expect(socketUrl('ws://127.0.0.1:9')).toBe('ws://127.0.0.1:9/ws');
  });

  it('backs off exponentially with jitter, capped at 10 s', () => {
    for (let i = 0; i < 200; i++) {
      expect(backoffDelayMs(0)).toBeLessThanOrEqual(300);
      const d3 = backoffDelayMs(3);
      expect(d3).toBeGreaterThanOrEqual(2000);
      expect(d3).toBeLessThanOrEqual(4000);
      expect(backoffDelayMs(30)).toBeLessThanOrEqual(10_000);
    }
    expect(new Set(Array.from({ length: 20 }, () => backoffDelayMs(4))).size).toBeGreaterThan(1);
  });

  it('G2: client ids are 21 chars of [A-Za-z0-9_-] and do not repeat', () => {
    const ids = Array.from({ length: 5000 }, newClientId);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{21}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('accepts Web Storage (localStorage) as well as a get/set storage', async () => {
    const data = new Map<string, string>();
    const web = { getItem: (k: string) => data.get(k) ?? null, setItem: (k: string, v: string) => void data.set(k, v) };
    const v = new PersistedValue(asKeyValueStorage(web), 'k');
    await v.save('1');
    expect(await v.load()).toBe('1');
    expect(data.get('k')).toBe('1');
  });

  it('coalesces writes to a slow storage and ends with the newest value', async () => {
    const writes: string[] = [];
    const slow = { get: () => null, set: (_k: string, val: string) => new Promise<void>((r) => setTimeout(() => (writes.push(val), r()), 20)) };
    const v = new PersistedValue(slow, 'k');
    const done = [1, 2, 3, 4, 5].map((i) => v.save(String(i)));
    await Promise.all(done);
    expect(writes.at(-1)).toBe('5');
    expect(writes.length).toBeLessThanOrEqual(2);
  });

  it('maps a transport failure to client.network and keeps SohbetErrors as they are', () => {
    expect(toSohbetError(new Error('WebSocket closed')).code).toBe('client.network');
    const e = new SohbetError('chat.blocked');
    expect(toSohbetError(e)).toBe(e);
    expect(toSohbetError({ message: 'x', data: { appCode: 'chat.too_long', httpStatus: 400 } })).toMatchObject({ code: 'chat.too_long', status: 400 });
    expect(new SohbetError('chat.blocked').isRefusal).toBe(true);
    expect(new SohbetError('internal').isRefusal).toBe(false);
  });

  it('G1: merges messages by seq without duplicates', () => {
    const m = (seq: number, text = `m${seq}`) => ({ seq, text }) as MessageDTO;
    expect(mergeMessages([m(1), m(3)], [m(2), m(3, 'edited'), m(5)]).map((x) => [x.seq, x.text])).toEqual([[1, 'm1'], [2, 'm2'], [3, 'edited'], [5, 'm5']]);
  });

  it('G4: unread follows lastSeq − lastReadSeq as messages arrive; own messages read everything', () => {
    const conv = {
      id: 'c', lastSeq: 2, unreadCount: 0, lastMessage: null, lastMessageAt: null,
      members: [{ userId: 'me', lastReadSeq: 2, lastDeliveredSeq: 2 }, { userId: 'x', lastReadSeq: 2, lastDeliveredSeq: 2 }],
    } as unknown as ConversationDTO;
    const msg = (seq: number, senderId: string) => ({ id: `m${seq}`, seq, senderId, createdAt: new Date(seq).toISOString() }) as MessageDTO;
    const a = withMessage(conv, msg(3, 'x'), 'me');
    const b = withMessage(a, msg(4, 'x'), 'me');
    expect([a.unreadCount, b.unreadCount]).toEqual([1, 2]);
    expect(withMessage(b, msg(4, 'x'), 'me')).toBe(b);
    expect(withMessage(b, msg(5, 'me'), 'me').unreadCount).toBe(0);
  });
});
