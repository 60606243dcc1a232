/**
 * Every error Sohbet returns carries one of these stable codes (G6). Clients switch on
 * `code`, never on the message text. The HTTP/tRPC status each code maps to is fixed here
 * so the server maps errors in one place.
 */
export const ERROR_STATUS = {
  'auth.missing': 401,
  'auth.invalid': 401,
  'auth.expired': 401,
  'auth.forbidden': 403,
  'auth.dev_login_disabled': 403,
  'input.invalid': 400,
  'protocol.unsupported_version': 426,
  'user.not_found': 404,
  'chat.not_found': 404,
  'chat.not_member': 403,
  'chat.blocked': 403,
  'chat.too_long': 400,
  'chat.empty': 400,
  'chat.message_not_found': 404,
  'chat.edit_window_passed': 403,
  'chat.not_author': 403,
  'chat.deleted': 409,
  'chat.self_conversation': 400,
  'chat.not_group': 400,
  'chat.not_admin': 403,
  'chat.client_id_conflict': 409,
  'support.not_operator': 403,
  'support.not_found': 404,
  'support.capacity': 409,
  'support.already_assigned': 409,
  'support.operator_unavailable': 409,
  'support.invalid_state': 409,
  // ---- media ----
  'media.not_found': 404,
  'media.too_large': 413,
  'media.empty': 400,
  'media.type_not_allowed': 415,
  'media.type_mismatch': 415,
  'media.corrupt': 422,
  'media.too_long': 422,
  'media.size_mismatch': 400,
  'media.url_invalid': 403,
  'media.url_expired': 403,
  'media.not_uploaded': 409,
  'media.not_ready': 409,
  'media.already_used': 409,
  'media.infected': 422,
  'media.scan_unavailable': 503,
  'media.too_many': 400,
  // ---- end media ----
  'support.already_rated': 409,
  'support.not_supervisor': 403,
  'support.topic_conflict': 409,
  'call.not_found': 404,
  'call.invalid_state': 409,
  'call.already_answered': 409,
  'call.not_callee': 403,
  'call.blocked': 403,
  'call.self': 400,
  'call.not_direct': 400,
  'call.id_conflict': 409,
  'call.invalid_signal': 400,
  'call.wrong_device': 403,
  'call.webhook_invalid': 401,
  'call.recording_not_found': 404,
  'call.recording_not_ready': 409,
  'call.recording_failed': 409,
  'notify.invalid_token': 400,
  'notify.device_not_found': 404,
  'notify.invalid_time_zone': 400,
  // ---- safety ----
  'auth.suspended': 403,
  'chat.rejected': 422,
  'chat.hook_unavailable': 503,
  'safety.not_moderator': 403,
  'safety.report_not_found': 404,
  'safety.report_closed': 409,
  // ---- end safety ----
  'notify.webhook_invalid': 401,
  'rate_limited': 429,
  'internal': 500,
  // ---- privacy ----
  /** The account was deleted: every token for its id is refused from then on. */
  'auth.account_deleted': 401,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

export function isErrorCode(x: unknown): x is ErrorCode {
  return typeof x === 'string' && x in ERROR_STATUS;
}

/** WebSocket close codes: 4000 + HTTP status, plus the protocol-version code. */
export const CLOSE_CODES = {
  unauthenticated: 4401,
  forbidden: 4403,
  unsupportedProtocol: 4426,
  /** Too many connects (per user or per IP); the reason is `rate_limited:<retryAfterMs>`. */
  rateLimited: 4429,
  /** The server is shutting down or draining; reconnect (to another instance). */
  goingAway: 1001,
} as const;
