import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SUPPORT_STATES, type SupportState } from '@sohbet/protocol';
import { canTransition, chooseOperator, orderQueue, TRANSITIONS, waitEstimate, type OperatorLoad, type TransitionKind } from './support.domain.ts';

const t0 = new Date('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(t0.getTime() + s * 1000);
const op = (userId: string, o: Partial<OperatorLoad> = {}): OperatorLoad => ({
  userId, status: 'available', connected: true, maxChats: 3, activeChats: 0, topics: [], lastAssignedAt: null, ...o,
});

describe('support state machine', () => {
  it('allows only the documented transitions', () => {
    expect(canTransition('offer', 'queued')).toBe(true);
    expect(canTransition('accept', 'queued')).toBe(false);
    expect(canTransition('accept', 'offered')).toBe(true);
    expect(canTransition('transfer', 'offered')).toBe(false);
    expect(canTransition('reopen', 'resolved')).toBe(true);
    expect(canTransition('resolve', 'resolved')).toBe(false);
  });

  it('never leaves resolved except by reopen, and every path from queued can reach resolved (property)', () => {
    const kinds = Object.keys(TRANSITIONS) as TransitionKind[];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...kinds), { maxLength: 30 }), (steps) => {
        let s: SupportState = 'queued';
        for (const k of steps) {
          if (!canTransition(k, s)) continue;
          if (s === 'resolved') expect(k).toBe('reopen');
          s = TRANSITIONS[k]!.to;
          expect(SUPPORT_STATES).toContain(s);
        }
        expect(canTransition('resolve', s) || s === 'resolved').toBe(true);
      }),
    );
  });
});

describe('support queue order', () => {
  const agingMs = 300_000;
  it('orders by priority, then by waiting time', () => {
    const q = orderQueue(
      [
        { id: 'a', priority: 'normal' as const, queuedAt: at(10) },
        { id: 'b', priority: 'urgent' as const, queuedAt: at(50) },
        { id: 'c', priority: 'normal' as const, queuedAt: at(5) },
        { id: 'd', priority: 'low' as const, queuedAt: at(0) },
      ],
      at(60),
      agingMs,
    );
    expect(q.map((c) => c.id)).toEqual(['b', 'c', 'a', 'd']);
  });

  it('ages a low-priority chat so it overtakes high-priority chats that arrived much later: low never starves', () => {
    const low = { id: 'low', priority: 'low' as const, queuedAt: at(0) };
    // A high chat arriving within two aging periods goes first...
    expect(orderQueue([low, { id: 'high', priority: 'high' as const, queuedAt: at(100) }], at(200), agingMs)[0]!.id).toBe('high');
    // ...one arriving later than that waits behind the low chat, however long they both wait.
    expect(orderQueue([low, { id: 'high', priority: 'high' as const, queuedAt: at(601) }], at(700), agingMs)[0]!.id).toBe('low');
    expect(orderQueue([low, { id: 'high', priority: 'high' as const, queuedAt: at(601) }], at(100_000), agingMs)[0]!.id).toBe('low');
  });

  it('bounds how long any chat waits behind a stream of urgent arrivals (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20_000 }), (later) => {
        const low = { id: 'low', priority: 'low' as const, queuedAt: at(0) };
        const urgent = { id: 'urgent', priority: 'urgent' as const, queuedAt: at(later) };
        const now = at(Math.max(later, 3 * 300 + 1) + 0);
        const first = orderQueue([low, urgent], now, agingMs)[0]!.id;
        // Once the low chat waited more than 3 aging periods longer than the urgent one, it goes first.
        if ((now.getTime() - low.queuedAt.getTime()) - (now.getTime() - urgent.queuedAt.getTime()) > 3 * agingMs) expect(first).toBe('low');
      }),
    );
  });
});

describe('support routing choice', () => {
  it('picks the least-loaded available operator serving the topic and records who was excluded and why', () => {
    const d = chooseOperator({ topic: 'billing', declinedBy: ['e'] }, [
      op('a', { activeChats: 2 }),
      op('b', { activeChats: 1 }),
      op('c', { status: 'away' }),
      op('d', { topics: ['delivery'] }),
      op('e'),
      op('f', { activeChats: 3 }),
      op('g', { connected: false }),
      op('h', { status: 'offline' }),
    ]);
    expect(d.winner).toBe('b');
    expect(d.candidates).toEqual(['b', 'a']);
    expect(d.excluded).toEqual([
      { operatorId: 'c', reason: 'status_away' },
      { operatorId: 'd', reason: 'topic' },
      { operatorId: 'e', reason: 'declined' },
      { operatorId: 'f', reason: 'capacity' },
      { operatorId: 'g', reason: 'disconnected' },
      { operatorId: 'h', reason: 'status_offline' },
    ]);
  });

  it('breaks ties toward the operator assigned least recently (never assigned first)', () => {
    const d = chooseOperator({ topic: 't', declinedBy: [] }, [op('x', { lastAssignedAt: at(20) }), op('y', { lastAssignedAt: at(10) }), op('z', { lastAssignedAt: at(30) })]);
    expect(d.candidates).toEqual(['y', 'x', 'z']);
    expect(chooseOperator({ topic: 't', declinedBy: [] }, [op('x', { lastAssignedAt: at(1) }), op('w')]).winner).toBe('w');
  });

  it('asks operators whose offer expired again only when nobody else can take the chat (an expiry never strands it); a decline is final', () => {
    const d = chooseOperator({ topic: 't', declinedBy: [], skippedBy: ['x', 'y'] }, [op('x', { activeChats: 1 }), op('y'), op('z', { status: 'away' })]);
    expect(d.winner).toBe('y');
    expect(d.candidates).toEqual(['y', 'x']);
    expect(d.excluded).toEqual([{ operatorId: 'z', reason: 'status_away' }]);
    const other = chooseOperator({ topic: 't', declinedBy: [], skippedBy: ['x'] }, [op('x'), op('w', { activeChats: 2 })]);
    expect(other.winner).toBe('w');
    expect(other.excluded).toEqual([{ operatorId: 'x', reason: 'skipped' }]);
    expect(chooseOperator({ topic: 't', declinedBy: ['x'] }, [op('x')]).winner).toBeNull();
  });

  it('never picks an operator who is away, offline, disconnected, full, off-topic or declined, and always picks someone when anyone is eligible (property)', () => {
    const arbOp = fc.record({
      userId: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
      status: fc.constantFrom('available', 'away', 'offline' as const),
      connected: fc.boolean(),
      maxChats: fc.integer({ min: 0, max: 4 }),
      activeChats: fc.integer({ min: 0, max: 4 }),
      topics: fc.subarray(['t', 'u']),
      lastAssignedAt: fc.option(fc.integer({ min: 0, max: 100 }).map(at), { nil: null }),
    });
    fc.assert(
      fc.property(fc.uniqueArray(arbOp, { selector: (o) => o.userId, maxLength: 6 }), fc.subarray(['a', 'b', 'c']), fc.subarray(['d', 'e']), (ops, declinedBy, skippedBy) => {
        const d = chooseOperator({ topic: 't', declinedBy, skippedBy }, ops as OperatorLoad[]);
        const ok = (o: (typeof ops)[number]) => o.status === 'available' && o.connected && (o.topics.length === 0 || o.topics.includes('t')) && o.activeChats < o.maxChats && !declinedBy.includes(o.userId);
        const eligible = ops.filter(ok);
        if (eligible.length === 0) {
          expect(d.winner).toBeNull();
          return;
        }
        const w = ops.find((o) => o.userId === d.winner)!;
        expect(ok(w)).toBe(true);
        // Least loaded among those not skipped (or among the skipped when they are all that is left).
        const pool = eligible.some((o) => !skippedBy.includes(o.userId)) ? eligible.filter((o) => !skippedBy.includes(o.userId)) : eligible;
        expect(pool.map((o) => o.userId)).toContain(w.userId);
        expect(w.activeChats).toBe(Math.min(...pool.map((o) => o.activeChats)));
        expect(new Set([...d.candidates, ...d.excluded.map((x) => x.operatorId)])).toEqual(new Set(ops.map((o) => o.userId)));
      }),
    );
  });

  it('has no winner when nobody can serve', () => {
    expect(chooseOperator({ topic: 't', declinedBy: [] }, [op('a', { maxChats: 0 })]).winner).toBeNull();
  });

  it('estimates the wait as a range from the measured handle time, or admits it has no data', () => {
    expect(waitEstimate(3, null, 4)).toBeNull();
    expect(waitEstimate(3, 60_000, 0)).toBeNull();
    const e = waitEstimate(4, 60_000, 2)!;
    expect(e.minSeconds).toBeLessThan(120);
    expect(e.maxSeconds).toBeGreaterThan(120);
  });
});
