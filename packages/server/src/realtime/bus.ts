import type { StreamEvent } from '@sohbet/protocol';

/** One event addressed to one user. `seq` is the user's event-log seq (null for ephemeral events). */
export interface Delivery {
  userId: string;
  seq: number | null;
  event: StreamEvent;
}

export type BusListener = (d: Delivery) => void;

/**
 * Fan-out between server instances. Implementations: in-process (one instance) and Redis
 * pub/sub (any number). The same contract suite runs against both (bus.test.ts).
 */
export interface Bus {
  /** Delivers to every instance that has a subscriber for the user. Fire-and-forget after commit. */
  publish(deliveries: Delivery[]): void;
  /**
   * Listens to one user's events on this instance; returns an unsubscribe function. `onGap` is
   * called when deliveries may have been lost (the bus reconnected), so the listener re-reads
   * the durable log.
   */
  subscribe(userId: string, listener: BusListener, onGap?: () => void): () => void;
  /** Resolves once subscriptions made so far are active (Redis SUBSCRIBE acknowledged). */
  ready(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Listener bookkeeping shared by both implementations. */
export class LocalListeners {
  private readonly byUser = new Map<string, Set<BusListener>>();

  /** Returns true when this is the user's first listener here. */
  add(userId: string, l: BusListener): boolean {
    let set = this.byUser.get(userId);
    const first = !set;
    if (!set) this.byUser.set(userId, (set = new Set()));
    set.add(l);
    return first;
  }

  /** Returns true when the user has no listener left here. */
  remove(userId: string, l: BusListener): boolean {
    const set = this.byUser.get(userId);
    if (!set) return false;
    set.delete(l);
    if (set.size === 0) {
      this.byUser.delete(userId);
      return true;
    }
    return false;
  }

  dispatch(d: Delivery): void {
    const set = this.byUser.get(d.userId);
    if (!set) return;
    for (const l of set) l(d);
  }

  get userCount(): number {
    return this.byUser.size;
  }

  userIds(): IterableIterator<string> {
    return this.byUser.keys();
  }
}

export class InProcessBus implements Bus {
  private readonly listeners = new LocalListeners();

  publish(deliveries: Delivery[]): void {
    // Deliver on a microtask so publishers never run subscriber code inside their own call.
    queueMicrotask(() => {
      for (const d of deliveries) this.listeners.dispatch(d);
    });
  }

  subscribe(userId: string, listener: BusListener): () => void {
    this.listeners.add(userId, listener);
    return () => void this.listeners.remove(userId, listener);
  }

  async ready(): Promise<void> {}
  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}
