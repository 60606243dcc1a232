import { createHmac } from 'node:crypto';
import type { CallJoinInfo } from '@sohbet/protocol';
import type { Config } from '../config/config.ts';

/**
 * Where call media flows. The state machine, ringing and history are the same for every
 * provider; a provider only prepares media for a call and tells each party how to join it.
 */
export interface MediaProvider {
  readonly name: 'p2p' | 'livekit';
  /** Called once when a call is accepted (a LiveKit room, and its recording, start here). */
  prepare(call: { id: string; recording: boolean }): Promise<{ recordingRef?: string; recordingError?: string }>;
  /** What `userId` needs to connect media for this call. */
  join(call: { id: string }, userId: string, now: Date): Promise<CallJoinInfo>;
  /** Called once when a call ended (a LiveKit room is deleted here). */
  release(call: { id: string }): Promise<void>;
}

/**
 * Peer-to-peer WebRTC: the server relays signaling only. ICE servers come from config; TURN
 * credentials follow coturn's shared-secret scheme (`use-auth-secret`): the username is
 * `<expiry unix time>:<user id>` and the password base64(HMAC-SHA1(secret, username)), so coturn
 * checks them without any call to us and they stop working at the expiry.
 */
export class P2pProvider implements MediaProvider {
  readonly name = 'p2p' as const;
  constructor(private readonly ice: Config['calls']['ice']) {}

  async prepare(): Promise<{ recordingRef?: string }> {
    return {};
  }
  async release(): Promise<void> {}

  async join(_call: { id: string }, userId: string, now: Date): Promise<CallJoinInfo> {
    return { provider: 'p2p', iceServers: iceServers(this.ice, userId, now) };
  }
}

export function iceServers(ice: Config['calls']['ice'], userId: string, now: Date): Array<{ urls: string[]; username?: string; credential?: string }> {
  const list: Array<{ urls: string[]; username?: string; credential?: string }> = [];
  if (ice.stunUrls.length) list.push({ urls: [...ice.stunUrls] });
  if (ice.turn) {
    const expiry = Math.floor(now.getTime() / 1000) + ice.turn.ttlSec;
    const username = `${expiry}:${userId}`;
    const credential = createHmac('sha1', ice.turn.secret).update(username).digest('base64');
    list.push({ urls: [...ice.turn.urls], username, credential });
  }
  return list;
}
