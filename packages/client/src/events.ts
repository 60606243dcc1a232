import type { CallDTO, ConversationDTO, EventMap, MessageDTO, StreamEvent } from '@sohbet/protocol';
import type { OutboxItem } from './outbox.ts';

/**
 * Connection status of a client:
 * - `idle`: created, `connect()` not called yet;
 * - `connecting`: the first connection is being opened;
 * - `connected`: the event stream is live;
 * - `reconnecting`: the connection dropped and is being re-opened (with backoff);
 * - `unauthenticated`: the server closed with 4401; the client keeps retrying with a fresh `token()`;
 * - `closed`: `disconnect()` was called, or the server refused this protocol version (4426).
 */
export type ClientStatus = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'unauthenticated' | 'closed';

/** What each `client.on(name, fn)` listener receives. */
export interface ClientEventMap {
  status: ClientStatus;
  /** A new message in any of your conversations (yours included, from any device). */
  message: MessageDTO;
  /** One of this client's outbox sends was stored by the server (fires before the item leaves the outbox). */
  sent: MessageDTO;
  'message.updated': MessageDTO;
  'message.deleted': EventMap['chat.message.deleted'];
  reaction: EventMap['chat.reaction.updated'];
  receipt: EventMap['chat.receipt'];
  typing: EventMap['chat.typing'];
  presence: EventMap['presence.updated'];
  conversation: ConversationDTO;
  'conversation.removed': EventMap['chat.conversation.removed'];
  block: EventMap['user.block.updated'];
  /**
   * Your cursor was past the server's retention (or unknown to it): reload the conversation list
   * and open conversations; the stream continues from the new cursor (G3).
   */
  resync: EventMap['sync.resync'];
  /** Someone played a voice message for the first time. */
  'voice.heard': EventMap['media.voice.heard'];
  /** The stream caught up with everything missed and is live. */
  ready: EventMap['sync.ready'];
  /** Every stream event, raw, after the typed events above. */
  event: StreamEvent;
  /** A call rings for you (on every device): show the incoming-call screen. */
  'call.incoming': CallDTO;
  /** Any change of one of your calls (accepted, active, upgraded, ended; `answeredByDevice` ≠ `client.calls.deviceId` = answered elsewhere). */
  call: CallDTO;
  /** One of your calls ended (`endReason`: completed, declined, busy, cancelled, missed, failed, connection_lost). */
  'call.ended': CallDTO;
  /** A recording of one of your calls started, was stored, stopped early (`partial`) or failed. */
  'call.recording': EventMap['call.recording.updated']['recording'];
  /** The outbox changed; the listener gets the new items. */
  outbox: readonly OutboxItem[];
}

/** Name of a client event. */
export type ClientEventName = keyof ClientEventMap;

/** A minimal typed event emitter; a throwing listener never breaks the others. */
export class Emitter<M> {
  private readonly listeners = new Map<keyof M, Set<(value: never) => void>>();

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof M>(name: K, fn: (value: M[K]) => void): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(fn as (value: never) => void);
    return () => void set.delete(fn as (value: never) => void);
  }

  /** Calls every listener of `name` with `value`. */
  emit<K extends keyof M>(name: K, value: M[K]): void {
    const set = this.listeners.get(name);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        (fn as (v: M[K]) => void)(value);
      } catch (err) {
        // Rethrown asynchronously so one bad listener cannot stop the stream.
        setTimeout(() => {
          throw err;
        });
      }
    }
  }
}
