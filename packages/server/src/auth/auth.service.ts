import { SignJWT, createRemoteJWKSet, jwtVerify, errors as joseErrors, type JWTPayload } from 'jose';
import { z } from 'zod';
import { AppError } from '../core/errors.ts';

export interface AuthUser {
  id: string;
  name: string;
  avatarUrl: string | null;
  roles: string[];
  /** Token expiry, epoch seconds. */
  exp: number;
}

export interface AuthOptions {
  jwtSecret?: string;
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
}

const claimsSchema = z.object({
  sub: z.string().trim().min(1).max(128),
  name: z.string().max(200).optional(),
  avatar: z.string().url().max(2000).optional().nullable(),
  roles: z.array(z.string().max(32)).max(16).optional(),
  exp: z.number(),
});

/** Verifies user tokens signed by the host backend (HS256 secret or a JWKS) and mints local ones. */
export class AuthService {
  private readonly secret: Uint8Array | null;
  private readonly jwks: ReturnType<typeof createRemoteJWKSet> | null;

  constructor(private readonly opts: AuthOptions) {
    this.secret = opts.jwtSecret ? new TextEncoder().encode(opts.jwtSecret) : null;
    this.jwks = opts.jwksUrl ? createRemoteJWKSet(new URL(opts.jwksUrl)) : null;
    if (!this.secret && !this.jwks) throw new Error('AuthService needs a JWT secret or a JWKS URL');
  }

  async verify(token: string | undefined | null): Promise<AuthUser> {
    if (!token) throw new AppError('auth.missing', 'a bearer token is required');
    let payload: JWTPayload;
    try {
      const common = { issuer: this.opts.issuer, audience: this.opts.audience, requiredClaims: ['sub', 'exp'] };
      if (this.jwks && !(this.secret && isHs256(token))) {
        payload = (await jwtVerify(token, this.jwks, { ...common, algorithms: ['RS256', 'ES256', 'EdDSA'] })).payload;
      } else {
        payload = (await jwtVerify(token, this.secret!, { ...common, algorithms: ['HS256'] })).payload;
      }
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new AppError('auth.expired', 'the token has expired');
      throw new AppError('auth.invalid', 'the token is not valid');
    }
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) throw new AppError('auth.invalid', 'the token lacks valid sub/name/avatar/roles claims');
    const c = claims.data;
    const user = { id: c.sub, name: c.name ?? c.sub, avatarUrl: c.avatar ?? null, roles: c.roles ?? [], exp: c.exp };
    for (const guard of this.guards) await guard(user);
    return user;
  }

  private readonly guards: Array<(user: AuthUser) => Promise<void>> = [];

  /** A check every valid token must also pass (e.g. the account is not suspended); a throw refuses the token. */
  addGuard(guard: (user: AuthUser) => Promise<void>): void {
    this.guards.push(guard);
  }

  /** Mints an HS256 token (CLI `sohbet token`, the demo sign-in, tests). */
  async mint(user: { id: string; name?: string; avatarUrl?: string | null; roles?: string[] }, ttlSeconds = 3600): Promise<string> {
    if (!this.secret) throw new Error('minting tokens needs AUTH_JWT_SECRET');
    const claims: Record<string, unknown> = { name: user.name ?? user.id, roles: user.roles ?? [] };
    if (user.avatarUrl) claims.avatar = user.avatarUrl;
    let jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(user.id).setIssuedAt().setExpirationTime(`${ttlSeconds}s`);
    if (this.opts.issuer) jwt = jwt.setIssuer(this.opts.issuer);
    if (this.opts.audience) jwt = jwt.setAudience(this.opts.audience);
    return jwt.sign(this.secret);
  }
}

function isHs256(token: string): boolean {
  try {
    const header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8'));
    return header?.alg === 'HS256';
  } catch {
    return false;
  }
}
