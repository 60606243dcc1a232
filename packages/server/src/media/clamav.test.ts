/**
 * The clamd INSTREAM client against a real clamd (Debian clamav-daemon) started here with a
 * signature database written by the test (the EICAR test string), since no signatures can be
 * downloaded offline. Skipped, and said so, only where clamd is not installed.
 */
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLAMD, startClamd } from '../../test/clamd.ts';
import { EICAR } from '../../test/media-fixtures.ts';
import { ClamAv } from './clamav.ts';

describe.skipIf(!CLAMD)('ClamAV INSTREAM client against a real clamd', () => {
  let clamd: Awaited<ReturnType<typeof startClamd>>;
  beforeAll(async () => {
    clamd = await startClamd();
  }, 70_000);
  afterAll(() => clamd?.stop());

  it('reports a clean file as clean and the EICAR test file by its signature name', async () => {
    const av = new ClamAv(clamd.socket);
    expect(await av.scan(Buffer.from('%PDF-1.4 a harmless invoice'))).toBeNull();
    expect(await av.scan(Buffer.from(EICAR))).toBe('Sohbet-Test-EICAR.UNOFFICIAL');
  });

  it('streams files larger than one chunk', async () => {
    const av = new ClamAv(clamd.socket);
    const big = Buffer.concat([Buffer.alloc(300 * 1024, 0x41), Buffer.from(EICAR), Buffer.alloc(10)]);
    expect(await av.scan(big)).toMatch(/Sohbet-Test-EICAR/);
  });

  it('says the scanner is unavailable (typed) when clamd cannot be reached', async () => {
    await expect(new ClamAv(path.join(os.tmpdir(), 'no-such-clamd.sock')).scan(Buffer.from('x'))).rejects.toMatchObject({ code: 'media.scan_unavailable' });
  });
});
