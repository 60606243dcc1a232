import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICIES, parsePolicies, slidingVerdict } from './rate-limit.domain.ts';

describe('sliding-window rate limits', () => {
  it('never allows more than the limit inside one fixed window, and a refused hit says how long to wait', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 999 }), (limit, prev, elapsed) => {
        const p = { limit, windowMs: 1000 };
        let curr = 0;
        while (slidingVerdict({ prev, curr, elapsedMs: elapsed }, p).allowed) curr++;
        expect(curr).toBeLessThanOrEqual(limit);
        const refused = slidingVerdict({ prev, curr, elapsedMs: elapsed }, p);
        expect(refused.retryAfterMs).toBeGreaterThan(0);
        // Waiting the advertised time (with no other hits) is enough for the next hit.
        const later = elapsed + refused.retryAfterMs;
        const w = later < 1000 ? { prev, curr, elapsedMs: later } : { prev: later < 2000 ? curr : 0, curr: 0, elapsedMs: later % 1000 };
        expect(slidingVerdict(w, p).allowed).toBe(true);
      }),
    );
  });

  it('counts most of the previous window right after a window boundary (no double burst at the edge)', () => {
    const p = { limit: 10, windowMs: 60_000 };
    expect(slidingVerdict({ prev: 10, curr: 0, elapsedMs: 1000 }, p).allowed).toBe(false);
    expect(slidingVerdict({ prev: 10, curr: 0, elapsedMs: 12_000 }, p).allowed).toBe(true);
  });

  it('reads RATE_LIMITS overrides and reports every bad entry', () => {
    const ok = parsePolicies('message=120/1m, connect.ip=off ,conversation.new=3/2h');
    expect(ok.problems).toEqual([]);
    expect(ok.policies.message).toEqual({ limit: 120, windowMs: 60_000 });
    expect(ok.policies['connect.ip']).toBeNull();
    expect(ok.policies['conversation.new']).toEqual({ limit: 3, windowMs: 7_200_000 });
    expect(ok.policies.upload).toEqual(DEFAULT_POLICIES.upload);
    const bad = parsePolicies('messages=1/1m,message=ten/1m,upload=0/1s');
    expect(bad.problems).toHaveLength(3);
  });
});
