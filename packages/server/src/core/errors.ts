import { TRPCError } from '@trpc/server';
import { ERROR_STATUS, type ErrorCode } from '@sohbet/protocol';

/** The one error type of the server: a stable code from the protocol's closed union (G6). */
export class AppError extends Error {
  constructor(
    public readonly code: ErrorCode,
    message?: string,
    public readonly details?: Record<string, unknown>,
  ) {
    super(message ?? code);
    this.name = 'AppError';
  }
  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

const TRPC_CODE_BY_STATUS: Record<number, TRPCError['code']> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE_CONTENT',
  503: 'SERVICE_UNAVAILABLE',
  426: 'PRECONDITION_FAILED',
  429: 'TOO_MANY_REQUESTS',
  500: 'INTERNAL_SERVER_ERROR',
};

/** Maps an AppError to tRPC once; tRPC's errorFormatter then exposes `data.appCode`. */
export function toTRPCError(err: AppError): TRPCError {
  return new TRPCError({ code: TRPC_CODE_BY_STATUS[err.status] ?? 'INTERNAL_SERVER_ERROR', message: err.message, cause: err });
}

/** Finds the AppError inside a tRPC error, if any. */
export function appErrorOf(err: unknown): AppError | null {
  let e: unknown = err;
  for (let i = 0; i < 4 && e; i++) {
    if (e instanceof AppError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}
