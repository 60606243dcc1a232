/** Wire protocol version. A client sends it when it connects; a mismatch closes with 4426. */
export const PROTOCOL_VERSION = 1;
/** Oldest client protocol version this server still serves. */
export const MIN_PROTOCOL_VERSION = 1;
