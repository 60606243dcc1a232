import net from 'node:net';
import { AppError } from '../core/errors.ts';

/**
 * A clamd client speaking its INSTREAM protocol (zINSTREAM, then <uint32 length><bytes> chunks,
 * then a zero length) over a unix socket or host:port. Answers "stream: OK" or "stream: <name> FOUND".
 */
export class ClamAv {
  constructor(
    private readonly address: string,
    private readonly timeoutMs = 30_000,
  ) {}

  /** Resolves null when clean, the signature name when infected; clamd unreachable -> media.scan_unavailable. */
  scan(bytes: Buffer): Promise<string | null> {
    return new Promise((resolve, reject) => {
      const hp = /^(\[[^\]]+\]|[^:/]+):(\d+)$/.exec(this.address);
      const sock = hp ? net.connect({ host: hp[1]!.replace(/^\[|\]$/g, ''), port: Number(hp[2]) }) : net.connect({ path: this.address });
      let reply = '';
      const fail = (why: string) => {
        sock.destroy();
        reject(new AppError('media.scan_unavailable', `the malware scanner is unavailable (${why}); try again later`));
      };
      sock.setTimeout(this.timeoutMs, () => fail('timeout'));
      sock.on('error', (e) => fail(e.message));
      sock.on('data', (c) => (reply += c.toString('latin1')));
      sock.on('end', () => {
        const r = reply.replace(/\0/g, '').trim();
        sock.destroy();
        if (/:\s*OK$/.test(r)) resolve(null);
        else if (/FOUND$/.test(r)) resolve(r.replace(/^.*?:\s*/, '').replace(/\s*FOUND$/, ''));
        else reject(new AppError('media.scan_unavailable', `unexpected scanner reply: ${r.slice(0, 120)}`));
      });
      sock.on('connect', () => {
        sock.write('zINSTREAM\0');
        const CHUNK = 64 * 1024;
        for (let i = 0; i < bytes.length; i += CHUNK) {
          const part = bytes.subarray(i, i + CHUNK);
          const len = Buffer.alloc(4);
          len.writeUInt32BE(part.length);
          sock.write(len);
          sock.write(part);
        }
        sock.write(Buffer.alloc(4));
      });
    });
  }
}
