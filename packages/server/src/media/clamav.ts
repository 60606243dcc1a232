import net from 'node:net';
import { Readable } from 'node:stream';
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
  scan(body: Buffer | Readable): Promise<string | null> {
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
        void (async () => {
          const source = Buffer.isBuffer(body) ? Readable.from([body]) : body;
          const CHUNK = 64 * 1024;
          for await (const c of source) {
            const chunk = c as Buffer;
            for (let i = 0; i < chunk.length; i += CHUNK) {
              const part = chunk.subarray(i, i + CHUNK);
              const len = Buffer.alloc(4);
              len.writeUInt32BE(part.length);
              sock.write(len);
              // Backpressure: wait for the socket to drain before reading more of the file.
              if (!sock.write(part)) await new Promise((r) => sock.once('drain', r));
            }
          }
          sock.write(Buffer.alloc(4));
        })().catch((e: Error) => fail(e.message));
      });
    });
  }
}
