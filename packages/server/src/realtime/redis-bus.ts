import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from '../core/logger.ts';
import { LocalListeners, type Bus, type BusListener, type Delivery } from './bus.ts';

/**
 * Redis pub/sub bus: one channel per user, subscribed on an instance only while that user
 * has a socket there, so each instance receives only what its own users need.
 * Messages: `<seq or ->\n<json event>`; the event is serialized once per publish.
 */
export class RedisBus implements Bus {
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly listeners = new LocalListeners();
  private pending: Promise<unknown> = Promise.resolve();
  private readonly gapHandlers = new Set<() => void>();
  private connectedOnce = false;

  /** Names this instance's Redis connections (`CLIENT LIST` shows `sohbet:<instanceId>:pub|sub`). */
  readonly instanceId = randomUUID().slice(0, 8);

  /** Channel names: `<prefix>u:<userId>`. */
  private readonly channelPrefix: string;

  constructor(url: string, private readonly log: Logger, prefix = 'sohbet:') {
    this.channelPrefix = `${prefix}u:`;
    const opts = { maxRetriesPerRequest: null, enableOfflineQueue: true, lazyConnect: false } as const;
    this.pub = new Redis(url, { ...opts, connectionName: `sohbet:${this.instanceId}:pub` });
    // The subscriber connection's channels are ours to restore, not ioredis's: its
    // auto-resubscribe keeps only what was subscribed once the connection was "ready", and a
    // SUBSCRIBE that lands during the handshake fails the ready check (the INFO is refused in
    // subscriber mode), reconnects, and silently drops every channel subscribed so far.
    this.sub = new Redis(url, { ...opts, connectionName: `sohbet:${this.instanceId}:sub`, autoResubscribe: false, autoResendUnfulfilledCommands: false });
    for (const c of [this.pub, this.sub]) c.on('error', (err) => this.log.warn({ err: err.message }, 'redis bus connection error'));
    // On every (re)connect: subscribe to every channel a local listener needs. After a
    // reconnect, anything published meanwhile was missed: streams re-read their logs.
    this.sub.on('ready', () => {
      this.subscribeAll();
      if (this.connectedOnce) {
        this.log.info({ streams: this.gapHandlers.size }, 'redis bus reconnected; streams catch up from the event log');
        for (const h of this.gapHandlers) h();
      }
      this.connectedOnce = true;
    });
    this.sub.on('message', (channel: string, message: string) => {
      const userId = channel.slice(this.channelPrefix.length);
      const nl = message.indexOf('\n');
      const head = message.slice(0, nl);
      let event;
      try {
        event = JSON.parse(message.slice(nl + 1));
      } catch {
        this.log.warn({ channel }, 'dropping malformed bus message');
        return;
      }
      this.listeners.dispatch({ userId, seq: head === '-' ? null : Number(head), event });
    });
  }

  publish(deliveries: Delivery[]): void {
    if (deliveries.length === 0) return;
    const pipeline = this.pub.pipeline();
    // Events shared by many users (a group message) are serialized once.
    let lastEvent: unknown = null;
    let lastJson = '';
    for (const d of deliveries) {
      if (d.event !== lastEvent) {
        lastEvent = d.event;
        lastJson = JSON.stringify(d.event);
      }
      pipeline.publish(this.channelPrefix + d.userId, `${d.seq ?? '-'}\n${lastJson}`);
    }
    pipeline.exec().catch((err) => this.log.warn({ err: err.message }, 'redis publish failed; clients will catch up from the event log'));
  }

  subscribe(userId: string, listener: BusListener, onGap?: () => void): () => void {
    // Until the connection is ready, the 'ready' handler subscribes whatever is wanted then.
    if (this.listeners.add(userId, listener) && this.sub.status === 'ready') this.track(this.sub.subscribe(this.channelPrefix + userId));
    if (onGap) this.gapHandlers.add(onGap);
    return () => {
      if (onGap) this.gapHandlers.delete(onGap);
      if (this.listeners.remove(userId, listener) && this.sub.status === 'ready') this.track(this.sub.unsubscribe(this.channelPrefix + userId));
    };
  }

  private subscribeAll(): void {
    let batch: string[] = [];
    for (const userId of this.listeners.userIds()) {
      batch.push(this.channelPrefix + userId);
      if (batch.length === 1000) {
        this.track(this.sub.subscribe(...batch));
        batch = [];
      }
    }
    if (batch.length > 0) this.track(this.sub.subscribe(...batch));
  }

  private track(p: Promise<unknown>): void {
    const guarded = p.catch((err) => this.log.warn({ err: err.message }, 'redis (un)subscribe failed'));
    this.pending = Promise.all([this.pending, guarded]);
  }

  /**
   * Resolves once every subscription sent so far is confirmed; before the first connection,
   * once it is ready. (During a later outage, streams catch up through their gap handlers.)
   */
  async ready(): Promise<void> {
    if (!this.connectedOnce) await new Promise((resolve) => this.sub.once('ready', resolve));
    await this.pending;
  }

  async ping(): Promise<void> {
    await this.pub.ping();
  }

  async close(): Promise<void> {
    this.sub.disconnect();
    this.pub.disconnect();
  }
}
