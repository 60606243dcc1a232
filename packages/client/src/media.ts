import type { AttachmentDTO, AttachmentKind, MediaUsageDTO, UploadTicket } from '@sohbet/protocol';
import type { SohbetTRPC } from './connection.ts';
import { SohbetError } from './errors.ts';

/** What `client.media.upload` takes: a browser File/Blob, or a React Native / Expo file `{ uri }`. */
export type UploadSource = Blob | { uri: string; name?: string; type?: string };

/** Upload progress: bytes sent of the total. */
export interface UploadProgress {
  loaded: number;
  total: number;
  /** 0..1 */
  fraction: number;
}

export interface UploadOptions {
  conversationId: string;
  /** `image` (shown inline, default for PNG/JPEG/WebP/GIF), `file` (default otherwise) or `voice`. */
  kind?: AttachmentKind;
  /** File name shown to the other side; default the File's name or the uri's last segment. */
  name?: string;
  /** MIME type; default the Blob's type. The server checks the real type from the bytes. */
  type?: string;
  onProgress?: (p: UploadProgress) => void;
  /** Aborting cancels the upload like `cancel()`. */
  signal?: AbortSignal;
}

/** A running upload: await it for the finalized attachment, or `cancel()` it (rejects with `client.cancelled`). */
export interface UploadTask extends Promise<AttachmentDTO> {
  cancel(): void;
}

/** Attachments. Send a finished upload with `client.chat.send({ conversationId, attachmentIds: [a.id] })`. */
export interface MediaApi {
  /**
   * Uploads straight to storage with a short-lived signed URL (the bytes never pass through your
   * backend), reporting progress, then asks the server to check and process it (real size and
   * type, malware scan, thumbnail, voice duration/waveform). Rejects with a SohbetError such as
   * `media.too_large`, `media.type_mismatch`, `media.corrupt`, `media.too_long`, `media.infected`.
   */
  upload(source: UploadSource, options: UploadOptions): UploadTask;
  /** A short-lived download URL (members only), cached until shortly before it expires. */
  url(attachmentId: string, variant?: 'original' | 'thumbnail'): Promise<string>;
  /** Records that you played a voice message (first play only; the sender gets a `voice.heard` event). */
  markHeard(input: { conversationId: string; seq: number }): Promise<void>;
  /** Who has played these voice messages. */
  heard(input: { conversationId: string; seqs: number[] }): Promise<Array<{ seq: number; userId: string; heardAt: string }>>;
  /** Drops an upload you did not send. */
  discard(attachmentId: string): Promise<void>;
}

/** Raw byte transfer to a signed URL; XMLHttpRequest where it exists (browsers, React Native) for upload progress. */
function transfer(
  url: string,
  t: UploadTicket,
  body: Blob,
  onProgress: (loaded: number) => void,
  signal: AbortSignal,
  fetchImpl: typeof fetch | undefined,
): Promise<void> {
  const XHR = (globalThis as { XMLHttpRequest?: typeof XMLHttpRequest }).XMLHttpRequest;
  if (XHR) {
    return new Promise((resolve, reject) => {
      const x = new XHR();
      x.open(t.method, url);
      for (const [k, v] of Object.entries(t.headers)) x.setRequestHeader(k, v);
      x.upload.onprogress = (e) => onProgress(e.loaded);
      x.onload = () => (x.status >= 200 && x.status < 300 ? resolve() : reject(uploadError(x.status, x.responseText)));
      x.onerror = () => reject(new SohbetError('client.network', 'the upload failed'));
      x.onabort = () => reject(new SohbetError('client.cancelled', 'the upload was cancelled'));
      signal.addEventListener('abort', () => x.abort(), { once: true });
      if (t.fields) {
        const form = new FormData();
        for (const [k, v] of Object.entries(t.fields)) form.append(k, v);
        form.append('file', body);
        x.send(form);
      } else x.send(body);
    });
  }
  const f = fetchImpl ?? globalThis.fetch;
  return f(url, { method: t.method, headers: t.headers, body, signal }).then(
    async (r) => {
      if (!r.ok) throw uploadError(r.status, await r.text().catch(() => ''));
      onProgress(body.size);
    },
    (err: unknown) => {
      throw signal.aborted ? new SohbetError('client.cancelled', 'the upload was cancelled') : new SohbetError('client.network', (err as Error).message);
    },
  );
}

function uploadError(status: number, text: string): SohbetError {
  // The local default answers {error:{code}}; S3 answers XML (403 = expired or refused signature).
  try {
    const code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
    if (code) return new SohbetError(code as never, `upload refused: ${code}`);
  } catch {
    /* not JSON */
  }
  return new SohbetError(status === 403 ? 'media.url_invalid' : status === 413 ? 'media.too_large' : 'client.network', `upload refused (${status})`);
}

const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'];

export function createMediaApi(deps: {
  call: <T>(f: (t: SohbetTRPC) => Promise<T>) => Promise<T>;
  baseUrl: string;
  fetch?: typeof fetch;
}): MediaApi {
  const { call } = deps;
  const urls = new Map<string, { url: string; until: number }>();

  async function toBlob(source: UploadSource): Promise<{ blob: Blob; name: string; type: string }> {
    if (typeof Blob !== 'undefined' && source instanceof Blob) {
      return { blob: source, name: (source as File).name || 'file', type: source.type || 'application/octet-stream' };
    }
    const s = source as { uri: string; name?: string; type?: string };
    // React Native/Expo: fetch() of a local file:// or content:// uri yields its bytes as a Blob.
    const blob = await (deps.fetch ?? fetch)(s.uri).then((r) => r.blob());
    return { blob, name: s.name ?? decodeURIComponent(s.uri.split(/[/?#]/).filter(Boolean).pop() ?? 'file'), type: s.type ?? (blob.type || 'application/octet-stream') };
  }

  return {
    upload(source, o) {
      const abort = new AbortController();
      o.signal?.addEventListener('abort', () => abort.abort(), { once: true });
      let attachmentId: string | null = null;
      const run = async (): Promise<AttachmentDTO> => {
        const { blob, name: n0, type: t0 } = await toBlob(source);
        const name = o.name ?? n0;
        const type = o.type ?? t0;
        const kind = o.kind ?? (IMAGE_TYPES.includes(type) ? 'image' : 'file');
        if (abort.signal.aborted) throw new SohbetError('client.cancelled', 'the upload was cancelled');
        const ticket = await call((t) => t.media.requestUpload.mutate({ conversationId: o.conversationId, kind, name, mime: type, size: blob.size }));
        attachmentId = ticket.attachmentId;
        const report = (loaded: number) => o.onProgress?.({ loaded, total: blob.size, fraction: blob.size ? Math.min(1, loaded / blob.size) : 1 });
        report(0);
        await transfer(new URL(ticket.url, deps.baseUrl).toString(), ticket, blob, report, abort.signal, deps.fetch);
        if (abort.signal.aborted) throw new SohbetError('client.cancelled', 'the upload was cancelled');
        return call((t) => t.media.finalize.mutate({ attachmentId: ticket.attachmentId }));
      };
      const p = run().catch((err: unknown) => {
        // A cancelled or failed upload leaves nothing behind (the server's sweep would remove it later anyway).
        if (attachmentId) void call((t) => t.media.cancel.mutate({ attachmentId: attachmentId! })).catch(() => {});
        throw err;
      });
      return Object.assign(p, { cancel: () => abort.abort() });
    },
    async url(attachmentId, variant = 'original') {
      const key = `${attachmentId}:${variant}`;
      const hit = urls.get(key);
      if (hit && hit.until > Date.now()) return hit.url;
      const r = await call((t) => t.media.url.query({ attachmentId, variant }));
      const url = new URL(r.url, deps.baseUrl).toString();
      urls.set(key, { url, until: Date.parse(r.expiresAt) - 30_000 });
      return url;
    },
    markHeard: (input) => call((t) => t.media.markHeard.mutate(input)),
    heard: (input) => call((t) => t.media.heard.query(input)),
    discard: (attachmentId) => call((t) => t.media.cancel.mutate({ attachmentId })),
  };
}

export type { AttachmentDTO, MediaUsageDTO };
