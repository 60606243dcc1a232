import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config.ts';

/**
 * Security headers on every response, and a strict Content-Security-Policy for the web app.
 * The policy allows exactly what the app uses: its own origin (scripts, styles, the service
 * worker), WebSockets to itself, blob:/data: images (thumbnails, placeholders) and blob: media
 * (voice), https: images (avatars and listing pictures come from the host's CDN), the object
 * store's origin (direct uploads and downloads with signed URLs) and the configured LiveKit URL.
 * Nothing inline, no eval. Responses that set their own policy (local file downloads: sandbox)
 * keep it.
 */
export function contentSecurityPolicy(config: Config, host: string | undefined): string {
  const self = ["'self'"];
  const h = host && /^[A-Za-z0-9.\-:[\]]{1,300}$/.test(host) ? host : null;
  // CSP3 lets 'self' match ws(s) to the same host; older engines need it spelled out.
  const sockets = h ? [`ws://${h}`, `wss://${h}`] : [];
  const storage = storageOrigins(config);
  const livekit = config.calls.livekit ? liveKitOrigins(config.calls.livekit.url) : [];
  const frameAncestors = config.http.corsOrigins === true ? ["'self'"] : ["'self'", ...config.http.corsOrigins.map(origin).filter(Boolean)];
  const d: Record<string, string[]> = {
    'default-src': self,
    'script-src': self,
    'style-src': self,
    'img-src': [...self, 'data:', 'blob:', 'https:', ...storage],
    'media-src': [...self, 'blob:', ...storage],
    'font-src': [...self, 'data:'],
    'connect-src': [...self, ...sockets, ...storage, ...livekit],
    'worker-src': self,
    'manifest-src': self,
    'object-src': ["'none'"],
    'base-uri': self,
    'form-action': self,
    'frame-ancestors': frameAncestors as string[],
  };
  return Object.entries(d)
    .map(([k, v]) => `${k} ${[...new Set(v)].join(' ')}`)
    .join('; ');
}

function origin(u: string): string {
  try {
    return new URL(u).origin;
  } catch {
    return '';
  }
}

/** Where the browser PUTs uploads and GETs downloads when files live in S3/MinIO. */
function storageOrigins(config: Config): string[] {
  const s = config.media.storage;
  if (s.kind !== 's3') return [];
  const endpoint = s.endpoint ?? `https://s3.${s.region}.amazonaws.com`;
  const u = new URL(endpoint);
  const out = [u.origin];
  if (!s.forcePathStyle) {
    u.hostname = `${s.bucket}.${u.hostname}`;
    out.push(u.origin);
  }
  return out;
}

function liveKitOrigins(url: string): string[] {
  const u = new URL(url);
  const secure = u.protocol === 'wss:' || u.protocol === 'https:';
  return [`${secure ? 'wss' : 'ws'}://${u.host}`, `${secure ? 'https' : 'http'}://${u.host}`];
}

/** Registers the headers on every response of `http`. */
export function registerSecurityHeaders(http: FastifyInstance, config: Config): void {
  const production = config.env === 'production';
  const embeddable = config.http.corsOrigins !== true && config.http.corsOrigins.length > 0;
  http.addHook('onSend', async (req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    // Signed download URLs carry their signature in the query string: never send it onwards.
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cross-origin-opener-policy', 'same-origin');
    reply.header('permissions-policy', 'camera=(self), microphone=(self), display-capture=(self), geolocation=(), payment=(), usb=()');
    // With FRONTEND_URL set the app may be framed by those origins (frame-ancestors); otherwise nobody may frame it.
    if (!embeddable) reply.header('x-frame-options', 'DENY');
    if (production) reply.header('strict-transport-security', 'max-age=31536000; includeSubDomains');
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', contentSecurityPolicy(config, req.headers.host));
    return payload;
  });
}
