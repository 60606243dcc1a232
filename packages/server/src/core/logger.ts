import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'sohbet' },
    // Tokens and keys never reach the logs.
    redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'token', '*.token', 'apiKey'], censor: '[redacted]' },
  });
}
