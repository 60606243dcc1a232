import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Paths pino censors wherever they appear: credentials in request headers, tokens, passwords,
 * API keys and secrets (also one level down, e.g. `{ config: { apiKey } }`).
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'authorization',
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'authToken',
  '*.authToken',
  'apiKey',
  '*.apiKey',
  'password',
  '*.password',
  'secret',
  '*.secret',
  '*.secretAccessKey',
  '*.apiSecret',
  '*.privateKey',
  'connectionParams.token',
];

/** Query parameters that are credentials (signed URLs, tokens in links): masked in logged URLs. */
const SECRET_PARAMS = /([?&](?:sig|signature|token|access_token|api_key|apikey|key|X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  return url.replace(SECRET_PARAMS, '$1[redacted]');
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'sohbet' },
      // Tokens and keys never reach the logs.
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: {
        req: (req: { method?: string; url?: string; hostname?: string; ip?: string; headers?: Record<string, unknown> }) => ({
          method: req.method,
          url: req.url ? redactUrl(req.url) : req.url,
          hostname: req.hostname,
          remoteAddress: req.ip,
        }),
        err: pino.stdSerializers.err,
      },
    },
    destination,
  );
}
