import { timingSafeEqual } from 'node:crypto';
import type { AuthService, AuthUser } from '../auth/auth.service.ts';
import type { Services } from '../services.ts';
import { AppError } from './errors.ts';

export interface Context {
  services: Services;
  auth: {
    /** The verified user; throws auth.* when missing, invalid or expired. */
    user(): Promise<AuthUser>;
    /** True when the request carries the server API key. */
    apiKey(): boolean;
  };
  /** The client's address (behind a proxy: from X-Forwarded-For), for per-IP limits. */
  ip: string | null;
  /** Set on WebSocket connections. */
  connection: { id: string; userId: string; socket: { bufferedAmount: number } } | null;
}

/** Context for a request whose credentials come from headers or connection params. */
export function makeContext(
  services: Services,
  creds: { bearer: string | null; apiKey: string | null; ip?: string | null },
  connection: Context['connection'] = null,
  preVerified: AuthUser | null = null,
): Context {
  let verified: Promise<AuthUser> | null = preVerified ? Promise.resolve(preVerified) : null;
  return {
    services,
    connection,
    ip: creds.ip ?? null,
    auth: {
      user: () => {
        verified ??= verifyAndUpsert(services.auth, services, creds.bearer);
        return verified;
      },
      apiKey: () => keyMatches(services.config.auth.apiKey, creds.apiKey),
    },
  };
}

async function verifyAndUpsert(auth: AuthService, services: Services, token: string | null): Promise<AuthUser> {
  const user = await auth.verify(token);
  await services.privacy.assertActive(user.id);
  await services.conversations.upsertUser(user);
  return user;
}

function keyMatches(expected: string | undefined, given: string | null): boolean {
  if (!expected || !given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function bearerFrom(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(.+)$/i.exec(header);
  return m ? m[1]!.trim() : null;
}

export function assertUser(u: AuthUser | null): AuthUser {
  if (!u) throw new AppError('auth.missing');
  return u;
}
