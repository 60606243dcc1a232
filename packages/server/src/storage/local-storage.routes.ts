import { createReadStream } from 'node:fs';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Readable } from 'node:stream';
import { AppError, appErrorOf } from '../core/errors.ts';
import { LOCAL_ROUTE, type LocalDiskStorage } from './local-storage.ts';
import { attachmentDisposition, safeContentType } from './object-storage.ts';
import type { UrlSigner } from './url-signer.ts';

type Q = Record<string, string | undefined>;

/**
 * The local default's signed upload (PUT, streamed to disk, refused at the first byte past the signed size) and
 * download (GET, attachment disposition, nosniff, byte ranges for audio seeking) routes.
 */
export async function localStorageRoutes(http: FastifyInstance, storage: LocalDiskStorage, signer: UrlSigner): Promise<void> {
  await http.register(async (scope) => {
    // Upload bodies are streamed, never parsed or buffered (bodyLimit does not apply to them).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

    scope.put(`${LOCAL_ROUTE}/upload`, async (req, reply) => {
      const q = req.query as Q;
      try {
        const params = { op: 'put', key: q.key ?? '', exp: q.exp ?? '', max: q.max ?? '', ct: q.ct ?? '' };
        signer.verify(params, q.sig);
        if ((req.headers['content-type'] ?? '') !== params.ct) throw new AppError('media.url_invalid', 'the content type differs from the signed one');
        // The signed size is exact, as on S3 (signed Content-Length). A declared length that differs is
        // refused before reading; a chunked body is cut at the first byte past the size.
        const declared = req.headers['content-length'] === undefined ? null : Number(req.headers['content-length']);
        if (declared !== null && declared > Number(params.max)) throw new AppError('media.too_large', `at most ${params.max} bytes`);
        if (declared !== null && declared !== Number(params.max)) throw new AppError('media.size_mismatch', `send exactly ${params.max} bytes`);
        const size = await storage.putLimited(params.key, req.body as Readable, Number(params.max), { exact: true });
        return reply.code(200).send({ ok: true, size });
      } catch (err) {
        return sendError(reply, err);
      }
    });

    scope.get(`${LOCAL_ROUTE}/download`, async (req, reply) => {
      const q = req.query as Q;
      try {
        const params = { op: 'get', key: q.key ?? '', exp: q.exp ?? '', fn: q.fn ?? '', ct: q.ct ?? '' };
        signer.verify(params, q.sig);
        const st = await storage.stat(params.key);
        if (!st) throw new AppError('media.not_found', 'no such file');
        reply
          .header('content-type', safeContentType(params.ct))
          .header('content-disposition', attachmentDisposition(params.fn))
          .header('x-content-type-options', 'nosniff')
          .header('content-security-policy', "default-src 'none'; sandbox")
          .header('cache-control', 'private, max-age=300')
          .header('accept-ranges', 'bytes');
        const range = /^bytes=(\d*)-(\d*)$/.exec(String(req.headers.range ?? ''));
        if (range && st.size > 0 && (range[1] || range[2])) {
          const start = range[1] ? Number(range[1]) : Math.max(0, st.size - Number(range[2]));
          const end = range[1] && range[2] ? Math.min(Number(range[2]), st.size - 1) : st.size - 1;
          if (start > end || start >= st.size) return reply.code(416).header('content-range', `bytes */${st.size}`).send();
          reply.code(206).header('content-range', `bytes ${start}-${end}/${st.size}`).header('content-length', end - start + 1);
          return reply.send(createReadStream(storage.pathOf(params.key), { start, end }));
        }
        reply.header('content-length', st.size);
        return reply.send(createReadStream(storage.pathOf(params.key)));
      } catch (err) {
        return sendError(reply, err);
      }
    });
  });
}

function sendError(reply: FastifyReply, err: unknown) {
  const app = appErrorOf(err);
  if (!app) throw err;
  return reply.code(app.status).send({ error: { code: app.code, message: app.message } });
}
