/**
 * Rate limits as pure rules: which actions are limited, how much by default, and the
 * sliding-window arithmetic both limiter implementations (in-process and Redis) share.
 */
export const LIMIT_ACTIONS = [
  'message',
  'message.identical',
  'conversation.new',
  'conversation.new.young_account',
  'support.start',
  'call.start',
  'upload',
  'connect',
  'connect.ip',
  'login.ip',
] as const;
export type LimitAction = (typeof LIMIT_ACTIONS)[number];

export interface Policy {
  limit: number;
  windowMs: number;
}

const MIN = 60_000;
const HOUR = 60 * MIN;

/**
 * Defaults sized for people, not scripts: a seller answering many buyers stays far below them,
 * a bot flooding sellers or scraping users does not. Override with RATE_LIMITS.
 */
export const DEFAULT_POLICIES: Readonly<Record<LimitAction, Policy>> = {
  message: { limit: 60, windowMs: MIN },
  /** The same text (≥ IDENTICAL_MIN_CHARS) sent again and again, to anyone: the typical scam flood. */
  'message.identical': { limit: 5, windowMs: 10 * MIN },
  'conversation.new': { limit: 30, windowMs: HOUR },
  /** Accounts younger than YOUNG_ACCOUNT_MS open only a few new conversations. */
  'conversation.new.young_account': { limit: 5, windowMs: HOUR },
  'support.start': { limit: 5, windowMs: HOUR },
  'call.start': { limit: 10, windowMs: MIN },
  upload: { limit: 30, windowMs: MIN },
  /** Socket (re)connects with a token, per user: a reconnect loop is throttled, a flaky phone is not. */
  connect: { limit: 60, windowMs: MIN },
  /** Per client IP; generous because mobile carriers put many users behind one address. */
  'connect.ip': { limit: 600, windowMs: MIN },
  'login.ip': { limit: 20, windowMs: MIN },
};

export const YOUNG_ACCOUNT_MS = 24 * HOUR;
/** Short texts ("Salam", "Ok", "Hələ satılır?") are legitimately repeated to many buyers. */
export const IDENTICAL_MIN_CHARS = 16;

export interface Window {
  /** Count in the previous fixed window. */
  prev: number;
  /** Count in the current fixed window. */
  curr: number;
  /** Milliseconds since the current window started. */
  elapsedMs: number;
}

/**
 * Sliding-window estimate (Cloudflare's): prev weighted by the part of it still inside the
 * sliding window, plus curr. Allowed when one more fits; otherwise how long until it does.
 */
export function slidingVerdict(w: Window, p: Policy): { allowed: boolean; retryAfterMs: number } {
  const frac = w.elapsedMs / p.windowMs;
  const estimate = w.prev * (1 - frac) + w.curr;
  // The epsilon keeps float rounding from refusing a hit exactly at the advertised retry time.
  if (estimate + 1 <= p.limit + 1e-9) return { allowed: true, retryAfterMs: 0 };
  const room = p.limit - 1; // what the estimate must fall to
  let waitMs: number;
  if (w.curr <= room && w.prev > 0) {
    // Still in this window: wait until prev's weight has decayed enough.
    const t = p.windowMs * (1 - (room - w.curr) / w.prev);
    waitMs = t - w.elapsedMs;
  } else {
    // Next window: curr becomes prev and decays from there.
    const t = w.curr > 0 ? p.windowMs * Math.max(0, 1 - room / w.curr) : 0;
    waitMs = p.windowMs - w.elapsedMs + t;
  }
  return { allowed: false, retryAfterMs: Math.max(1, Math.ceil(waitMs)) };
}

const UNITS: Record<string, number> = { s: 1000, m: MIN, h: HOUR, d: 24 * HOUR };

/**
 * `RATE_LIMITS="message=120/1m,conversation.new=10/1h,connect.ip=off"`: overrides per action.
 * Returns the problems instead of throwing so config can report every bad entry at once.
 */
export function parsePolicies(spec: string | undefined): { policies: Record<LimitAction, Policy | null>; problems: string[] } {
  const policies: Record<LimitAction, Policy | null> = { ...DEFAULT_POLICIES };
  const problems: string[] = [];
  for (const part of (spec ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-z._]+)=(?:(off)|(\d{1,9})\/(\d{1,6})([smhd]))$/.exec(part);
    const action = m?.[1] as LimitAction | undefined;
    if (!m || !action || !LIMIT_ACTIONS.includes(action)) {
      problems.push(`"${part}": expected <action>=<count>/<n><s|m|h|d> or <action>=off; actions: ${LIMIT_ACTIONS.join(', ')}`);
      continue;
    }
    policies[action] = m[2] ? null : { limit: Number(m[3]), windowMs: Number(m[4]) * UNITS[m[5]!]! };
    if (policies[action] && policies[action]!.limit < 1) problems.push(`"${part}": the count must be at least 1 (or use off)`);
  }
  return { policies, problems };
}
