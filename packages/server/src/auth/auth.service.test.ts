import { createServer } from 'node:http';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthService } from './auth.service.ts';
import { AppError } from '../core/errors.ts';

const codeOf = async (p: Promise<unknown>) => p.then(() => 'ok', (e) => (e instanceof AppError ? e.code : String(e)));

describe('user tokens from the host backend', () => {
  it('accepts HS256 tokens and reads sub, name, avatar, roles', async () => {
    const auth = new AuthService({ jwtSecret: 'x'.repeat(32) });
    const token = await new SignJWT({ name: 'Aysel', avatar: 'https://cdn.example.com/a.png', roles: ['operator'] })
      .setProtectedHeader({ alg: 'HS256' }).setSubject('u-1').setExpirationTime('1h').sign(new TextEncoder().encode('x'.repeat(32)));
    expect(await auth.verify(token)).toMatchObject({ id: 'u-1', name: 'Aysel', avatarUrl: 'https://cdn.example.com/a.png', roles: ['operator'] });
  });

  it('rejects a wrong signature, a missing exp, an expired token and a wrong audience with typed codes', async () => {
    const secret = new TextEncoder().encode('x'.repeat(32));
    const auth = new AuthService({ jwtSecret: 'x'.repeat(32), audience: 'sohbet' });
    const other = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('u').setAudience('sohbet').setExpirationTime('1h').sign(new TextEncoder().encode('y'.repeat(32)));
    const noExp = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('u').setAudience('sohbet').sign(secret);
    const expired = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('u').setAudience('sohbet').setExpirationTime(Math.floor(Date.now() / 1000) - 5).sign(secret);
    const wrongAud = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('u').setAudience('other').setExpirationTime('1h').sign(secret);
    expect(await codeOf(auth.verify(other))).toBe('auth.invalid');
    expect(await codeOf(auth.verify(noExp))).toBe('auth.invalid');
    expect(await codeOf(auth.verify(expired))).toBe('auth.expired');
    expect(await codeOf(auth.verify(wrongAud))).toBe('auth.invalid');
    expect(await codeOf(auth.verify(''))).toBe('auth.missing');
    expect(await codeOf(auth.verify('a.b.c'))).toBe('auth.invalid');
  });

  describe('through a JWKS (RS256, ES256, EdDSA)', () => {
    const keys: Record<string, Awaited<ReturnType<typeof generateKeyPair>>> = {};
    let url = '';
    const server = createServer(async (_req, res) => {
      const jwks = { keys: await Promise.all(Object.entries(keys).map(async ([alg, k]) => ({ ...(await exportJWK(k.publicKey)), alg, kid: alg }))) };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
    });
    beforeAll(async () => {
      for (const alg of ['RS256', 'ES256', 'EdDSA']) keys[alg] = await generateKeyPair(alg, { crv: alg === 'EdDSA' ? 'Ed25519' : undefined });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks.json`;
    });
    afterAll(() => void server.close());

    it.each(['RS256', 'ES256', 'EdDSA'])('verifies %s tokens against the key set', async (alg) => {
      const auth = new AuthService({ jwksUrl: url, issuer: 'https://api.example.com' });
      const token = await new SignJWT({ name: 'Rəşad' }).setProtectedHeader({ alg, kid: alg }).setSubject(`u-${alg}`).setIssuer('https://api.example.com').setExpirationTime('5m').sign(keys[alg]!.privateKey);
      expect(await auth.verify(token)).toMatchObject({ id: `u-${alg}`, name: 'Rəşad', roles: [] });
      const forged = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('x').setExpirationTime('5m').sign(new TextEncoder().encode('z'.repeat(32)));
      expect(await codeOf(auth.verify(forged))).toBe('auth.invalid');
    });
  });

  it('`sohbet token` mints a token the server accepts', () => {
    const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/sohbet.mjs');
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sohbet-cli-'));
    const out = execFileSync(process.execPath, [bin, 'token', 'seller-7', '--name', 'Rəşad', '--role', 'operator'], {
      env: { PATH: process.env.PATH, DATA_DIR: dataDir, AUTH_JWT_SECRET: 'c'.repeat(32) },
    }).toString().trim();
    return new AuthService({ jwtSecret: 'c'.repeat(32) }).verify(out).then((u) => expect(u).toMatchObject({ id: 'seller-7', name: 'Rəşad', roles: ['operator'] }));
  });
});
