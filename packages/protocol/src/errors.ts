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
  'notify.invalid_token': 400,
  'notify.device_not_found': 404,
  'notify.invalid_time_zone': 400,
  'rate_limited': 429,
  'internal': 500,
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
  /** The server is shutting down or draining; reconnect (to another instance). */
  goingAway: 1001,
} as const;
