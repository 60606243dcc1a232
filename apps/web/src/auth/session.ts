/**
 * Where the web app gets its user token.
 *
 * Production (embedded in or opened by the host app): the host passes a token signed by its
 * backend, either as `?token=` in the URL (removed from the address bar at once) or with
 * `postMessage({ type: 'sohbet:token', token }, origin)` from the parent window or opener. When the
 * token is about to expire the app posts `{ type: 'sohbet:token-request' }` to the host and waits for
 * a new one. Demo servers (`auth.config` → devLogin) get a token from `auth.devLogin` instead.
 */
export interface Session {
  kind: 'demo' | 'host';
  token: string;
  userId: string;
  name: string;
  roles: string[];
}

export interface DemoUser {
  id: string;
  name: string;
  roles: string[];
  role: 'buyer' | 'seller' | 'operator' | 'supervisor';
}

/** The users `seedDemo` creates on the server (packages/server/src/demo/demo.seed.ts). */
export const DEMO_USERS: DemoUser[] = [
  { id: 'aysel', name: 'Aysel Məmmədova', roles: [], role: 'buyer' },
  { id: 'rashad', name: 'Rəşad Əliyev', roles: [], role: 'seller' },
  { id: 'operator', name: 'Operator', roles: ['operator'], role: 'operator' },
  { id: 'operator2', name: 'Leyla Operator', roles: ['operator'], role: 'operator' },
  { id: 'supervisor', name: 'Supervisor', roles: ['operator', 'admin'], role: 'supervisor' },
];

const SESSION_KEY = 'sohbet.session';
export const TOKEN_MESSAGE = 'sohbet:token';
export const TOKEN_REQUEST = 'sohbet:token-request';

export class ApiError extends Error {
  constructor(readonly code: string, message?: string) {
    super(message ?? code);
  }
}

async function trpcCall<T>(path: string, input?: unknown): Promise<T> {
  const res = await fetch(`/trpc/${path}`, input === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) });
  const body = (await res.json().catch(() => null)) as { result?: { data: T }; error?: { data?: { appCode?: string; code?: string }; message?: string } } | null;
  if (!res.ok || !body?.result) {
    const code = (body?.error?.data as { appCode?: string } | undefined)?.appCode ?? body?.error?.data?.code ?? `http.${res.status}`;
    throw new ApiError(code, body?.error?.message);
  }
  return body.result.data;
}

export async function fetchAuthConfig(): Promise<{ devLogin: boolean }> {
  try {
    return await trpcCall<{ devLogin: boolean }>('auth.config');
  } catch {
    return { devLogin: false };
  }
}

export async function demoLogin(u: { userId: string; name?: string; roles?: string[] }): Promise<Session> {
  const r = await trpcCall<{ token: string; user: { id: string; name: string; roles: string[] } }>('auth.devLogin', {
    userId: u.userId,
    ...(u.name ? { name: u.name } : {}),
    ...(u.roles?.length ? { roles: u.roles } : {}),
  });
  return { kind: 'demo', token: r.token, userId: r.user.id, name: r.user.name, roles: r.user.roles };
}

/** Reads sub/name/roles/exp from a JWT without verifying it (the server verifies). */
export function decodeToken(token: string): { sub: string; name: string; roles: string[]; exp: number } | null {
  try {
    const part = token.split('.')[1] ?? '';
    const json = JSON.parse(decodeURIComponent(escape(atob(part.replace(/-/g, '+').replace(/_/g, '/')))));
    if (typeof json.sub !== 'string') return null;
    return { sub: json.sub, name: typeof json.name === 'string' ? json.name : json.sub, roles: Array.isArray(json.roles) ? json.roles : [], exp: Number(json.exp) || 0 };
  } catch {
    return null;
  }
}

export function hostSession(token: string): Session | null {
  const c = decodeToken(token);
  return c ? { kind: 'host', token, userId: c.sub, name: c.name, roles: c.roles } : null;
}

/** Takes `?token=` from the URL and removes it from the address bar and history. */
export function takeUrlToken(): string | null {
  const url = new URL(location.href);
  const token = url.searchParams.get('token');
  if (!token) return null;
  url.searchParams.delete('token');
  history.replaceState(history.state, '', url.pathname + url.search + url.hash);
  return token;
}

function hostWindow(): Window | null {
  if (window.parent && window.parent !== window) return window.parent;
  return window.opener ?? null;
}

/** Only messages from the embedding window (and, when `?hostOrigin=` is set, that origin) count. */
function fromHost(e: MessageEvent): boolean {
  const host = hostWindow();
  if (!host || e.source !== host) return false;
  const allowed = new URLSearchParams(location.search).get('hostOrigin');
  return !allowed || e.origin === allowed;
}

/** Calls `fn` with each token the host posts. Returns an unsubscribe function. */
export function onHostToken(fn: (token: string) => void): () => void {
  const handler = (e: MessageEvent) => {
    if (!fromHost(e)) return;
    const d = e.data as { type?: string; token?: unknown } | null;
    if (d && d.type === TOKEN_MESSAGE && typeof d.token === 'string') fn(d.token);
  };
  window.addEventListener('message', handler);
  return () => window.removeEventListener('message', handler);
}

/** Asks the host for a (fresh) token; resolves with the next one it posts, or null after `ms`. */
export function requestHostToken(ms = 10_000): Promise<string | null> {
  const host = hostWindow();
  if (!host) return Promise.resolve(null);
  return new Promise((resolve) => {
    const timer = setTimeout(() => (off(), resolve(null)), ms);
    const off = onHostToken((token) => (clearTimeout(timer), off(), resolve(token)));
    host.postMessage({ type: TOKEN_REQUEST }, '*');
  });
}

/** Tells the host something happened that it may act on (e.g. a report for its moderators). */
export function notifyHost(message: { type: string; [k: string]: unknown }): void {
  hostWindow()?.postMessage(message, '*');
}

// The session lives in sessionStorage: each tab can be a different demo user, and a closed tab forgets it.
export function loadSession(): Session | null {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null') as Session | null;
    return s && typeof s.token === 'string' ? s : null;
  } catch {
    return null;
  }
}

export function saveSession(s: Session | null): void {
  if (s) sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
  else sessionStorage.removeItem(SESSION_KEY);
}

/** A token source for the SDK: renews demo tokens and asks the host for new ones before expiry. */
export function tokenSource(get: () => Session, set: (s: Session) => void): () => Promise<string> {
  return async () => {
    const s = get();
    const exp = decodeToken(s.token)?.exp ?? 0;
    if (exp * 1000 - Date.now() > 60_000) return s.token;
    if (s.kind === 'demo') {
      const fresh = await demoLogin({ userId: s.userId, name: s.name, roles: s.roles });
      set(fresh);
      return fresh.token;
    }
    const token = await requestHostToken();
    if (token) {
      const fresh = hostSession(token);
      if (fresh) set(fresh);
      return token;
    }
    return s.token;
  };
}
