import type { WebSocket } from 'ws';
import { CLOSE_CODES } from '@sohbet/protocol';
import type { AuthUser } from '../auth/auth.service.ts';
import { chatRepo } from '../chat/chat.repo.ts';
import type { Services } from '../services.ts';
import { PRESENCE_TTL_MS } from './presence.ts';
import { PingRounds } from './ws-server.ts';

/** Every socket is pinged this often; one that has not answered the previous ping is terminated. */
export const PING_INTERVAL_MS = 25_000;
/** The ping round is spread over the interval in this many slices (one every 250 ms; see PingRounds). */
const PING_SLICES = 100;

interface Conn {
  id: string;
  userId: string;
  socket: WebSocket;
  expiry: NodeJS.Timeout | null;
  operator: boolean;
}

/**
 * The sockets of this instance: presence (online while any device is connected, last seen on
 * the last disconnect), closing a socket when its token expires (4401), and draining on shutdown.
 */
export class ConnectionRegistry {
  private readonly conns = new Map<string, Conn>();
  private readonly bySocket = new WeakSet<WebSocket>();
  private timers: NodeJS.Timeout[] = [];
  private readonly pings = new PingRounds(PING_SLICES);
  draining = false;

  constructor(private readonly s: Services) {}

  get size(): number {
    return this.conns.size;
  }

  has(socket: WebSocket): boolean {
    return this.bySocket.has(socket);
  }

  /**
   * Closes every socket of a user on this instance (account deleted, suspended) after `delayMs`, so a reply
   * already on its way (the deletion's own response) still gets out; returns how many.
   */
  closeUser(userId: string, code: number, reason: string, delayMs = 0): number {
    let n = 0;
    for (const c of this.conns.values()) {
      if (c.userId !== userId) continue;
      setTimeout(() => c.socket.close(code, reason), delayMs).unref();
      n += 1;
    }
    return n;
  }

  async open(id: string, user: AuthUser, socket: WebSocket): Promise<void> {
    const msLeft = user.exp * 1000 - Date.now();
    const expiry = msLeft < 2 ** 31 ? setTimeout(() => socket.close(CLOSE_CODES.unauthenticated, 'auth.expired'), Math.max(0, msLeft)) : null;
    const conn: Conn = { id, userId: user.id, socket, expiry, operator: user.roles.includes('operator') };
    this.conns.set(id, conn);
    this.bySocket.add(socket);
    this.pings.add(socket);
    socket.once('close', () => void this.closed(conn));
    // Presence is best effort: a Redis outage must not stop anyone from connecting and chatting.
    try {
      if (await this.s.presence.connect(user.id, id)) await this.announce(user.id, true, null);
      // Operators: connectivity (not their chosen status) cancels a running grace timer.
      if (conn.operator) await this.s.support.onConnected(user.id);
      // A call leg that came back within the reconnect grace stays up.
      await this.s.calls.onConnected(user.id);
    } catch (err) {
      this.s.log.warn({ err: (err as Error).message, userId: user.id }, 'presence update on connect failed');
    }
  }

  private async closed(conn: Conn): Promise<void> {
    if (conn.expiry) clearTimeout(conn.expiry);
    this.conns.delete(conn.id);
    this.pings.delete(conn.socket);
    try {
      if (await this.s.presence.disconnect(conn.userId, conn.id)) {
        const at = this.s.clock.now();
        await chatRepo.setLastSeen(this.s.database.db, conn.userId, at);
        await this.announce(conn.userId, false, at);
        // Starts the operator's grace timer (stored in the database; the support sweeper fires it).
        if (conn.operator) await this.s.support.onDisconnected(conn.userId, at);
        // Starts the reconnect grace of the user's live calls (stored; the calls sweeper fires it).
        await this.s.calls.onDisconnected(conn.userId);
      }
    } catch (err) {
      this.s.log.warn({ err: (err as Error).message, userId: conn.userId }, 'presence update on disconnect failed');
    }
  }

  /** Tells the user's direct contacts (and the user's other devices) that they came online or went offline. */
  private async announce(userId: string, online: boolean, lastSeenAt: Date | null): Promise<void> {
    const contacts = await chatRepo.contacts(this.s.database.db, userId);
    this.s.events.publishEphemeral([...contacts, userId], {
      type: 'presence.updated',
      data: { userId, online, lastSeenAt: lastSeenAt?.toISOString() ?? null },
    });
  }

  /** Presence heartbeats and event-log pruning: periodic, idempotent sweeps. */
  startMaintenance(): void {
    const warn = (what: string) => (err: Error) => this.s.log.warn({ err: err.message }, `${what} failed`);
    this.every(PRESENCE_TTL_MS / 3, () => this.heartbeat());
    this.every(3600_000, () => this.prune().catch(warn('event-log pruning')));
    // Durable support timers (offers, operator grace) are due times in the database; any instance may fire them.
    this.every(this.s.config.support.sweepMs, () => this.s.support.sweep().catch(warn('support sweep')));
    // Durable call timers (ring, connect, max duration, reconnect grace), likewise.
    this.every(this.s.config.calls.sweepMs, () => this.s.calls.sweep().catch(warn('calls sweep')));
    const ping = setInterval(() => this.pings.tick(), PING_INTERVAL_MS / PING_SLICES);
    ping.unref();
    this.timers.push(ping);
  }

  private readonly running = new Set<Promise<unknown>>();

  /**
   * Runs a job every `ms`, skipping a tick while its previous run is still going (a slow pass
   * is not joined by a second one that would only queue behind it on the database), and keeps
   * the run in flight so drain() can wait for it before the database closes.
   */
  private every(ms: number, job: () => Promise<unknown>): void {
    let run: Promise<unknown> | null = null;
    const timer = setInterval(() => {
      if (run) return;
      run = job()
        .catch(() => {})
        .finally(() => {
          this.running.delete(run!);
          run = null;
        });
      this.running.add(run);
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }

  /** Keeps this instance's connections alive in shared presence, and its operators' durable last-seen. */
  async heartbeat(): Promise<void> {
    const conns = [...this.conns.values()];
    await this.s.presence.heartbeat(conns.map((c) => ({ userId: c.userId, connId: c.id }))).catch(() => {});
    // If this instance dies, the staleness of this last-seen starts its operators' grace (support).
    await this.s.support.heartbeat([...new Set(conns.filter((c) => c.operator).map((c) => c.userId))]).catch(() => {});
  }

  async prune(): Promise<number> {
    const cutoff = new Date(this.s.clock.now().getTime() - this.s.config.chat.eventRetentionDays * 86_400_000);
    try {
      return await this.s.events.prune(cutoff);
    } catch (err) {
      this.s.log.warn({ err: (err as Error).message }, 'event pruning failed');
      return 0;
    }
  }

  /** The users with a socket on this instance. */
  userIds(): string[] {
    return [...this.conns.values()].map((c) => c.userId);
  }

  /** Closes every socket with 1001 so clients reconnect (to another instance), then waits for them to go. */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    for (const t of this.timers) clearInterval(t);
    for (const c of this.conns.values()) c.socket.close(CLOSE_CODES.goingAway, 'server shutting down');
    const deadline = Date.now() + graceMs;
    while (this.conns.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const c of this.conns.values()) c.socket.terminate();
    // A sweep still running would otherwise meet a closed database; within the grace only (a
    // command to a stopped Redis waits in its offline queue and must not hold the shutdown).
    if (this.running.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const left = new Promise((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now()))));
      await Promise.race([Promise.allSettled([...this.running]), left]);
      clearTimeout(timer);
    }
  }
}
