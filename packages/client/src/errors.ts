import { isErrorCode, type ErrorCode } from '@sohbet/protocol';

/**
 * Codes the SDK itself produces, next to the server's stable codes:
 * - `client.network`: the request may not have reached the server (socket closed, offline).
 * - `client.not_connected`: a call was made before `connect()` or after `disconnect()`.
 * - `client.discarded`: an outbox item was discarded before it was sent.
 * - `client.cancelled`: an upload was cancelled (`task.cancel()` or its AbortSignal).
 */
export type ClientErrorCode = 'client.network' | 'client.not_connected' | 'client.discarded' | 'client.cancelled';

/** Every error code a {@link SohbetError} can carry: the server's (`chat.blocked`, …) or the SDK's. */
export type SohbetErrorCode = ErrorCode | ClientErrorCode;

/**
 * The one error type the SDK throws. Switch on `code` (stable), never on `message`.
 * `status` is the HTTP-like status the server mapped the code to, when the server answered.
 */
export class SohbetError extends Error {
  /** The stable error code, e.g. `chat.not_member` or `client.network`. */
  readonly code: SohbetErrorCode;
  /** The HTTP-like status the server mapped the code to; absent for SDK-side codes. */
  readonly status?: number;
  /** Structured details the server attached (e.g. `{ missing: [...] }`). */
  readonly details?: Record<string, unknown>;
  /** Input validation issues, for `input.invalid`. */
  readonly issues?: Array<{ path: string[]; message: string }>;

  constructor(code: SohbetErrorCode, message?: string, extra: { status?: number; details?: Record<string, unknown>; issues?: Array<{ path: string[]; message: string }>; cause?: unknown } = {}) {
    super(message ?? code, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = 'SohbetError';
    this.code = code;
    this.status = extra.status;
    this.details = extra.details;
    this.issues = extra.issues;
  }

  /** True when the server refused the request for good (a typed answer, not a transport failure). */
  get isRefusal(): boolean {
    // chat.hook_unavailable: the host's pre-send check is down (fail closed); the message waits.
    return !this.code.startsWith('client.') && this.code !== 'internal' && this.code !== 'rate_limited' && !this.code.startsWith('auth.') && this.code !== 'chat.hook_unavailable';
  }
}

interface TRPCErrorLike {
  message?: string;
  data?: { appCode?: unknown; httpStatus?: number; details?: Record<string, unknown>; issues?: Array<{ path: string[]; message: string }> } | null;
  shape?: { data?: { appCode?: unknown } } | null;
}

/**
 * Maps anything a tRPC call can throw to a {@link SohbetError}: a server answer keeps its stable
 * `appCode`; a transport failure (socket closed before the answer) becomes `client.network`.
 */
export function toSohbetError(err: unknown): SohbetError {
  if (err instanceof SohbetError) return err;
  const e = (err ?? {}) as TRPCErrorLike;
  const appCode = e.data?.appCode ?? e.shape?.data?.appCode;
  if (isErrorCode(appCode)) {
    return new SohbetError(appCode, e.message, { status: e.data?.httpStatus, details: e.data?.details, issues: e.data?.issues, cause: err });
  }
  return new SohbetError('client.network', e.message || 'the request did not complete', { cause: err });
}
