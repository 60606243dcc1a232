import type { SendOutcome } from '../notify.domain.ts';
import type { OutboxRow } from '../notify.repo.ts';
import { failureOf, mapLimited, networkFailure, type Outgoing, type Provider, type ProviderDeps } from './provider.ts';

type Ticket = { status: 'ok'; id: string } | { status: 'error'; message: string; details?: { error?: string } };

/**
 * Expo push service (https://docs.expo.dev/push-notifications/sending-notifications/): POST up to 100
 * messages to /--/api/v2/push/send → one ticket each; later /--/api/v2/push/getReceipts → delivered or
 * an error (DeviceNotRegistered removes the device). Plain fetch: expo-server-sdk reads its base URL
 * from process.env at import time, which a configurable, testable client cannot use.
 */
export class ExpoProvider implements Provider {
  readonly channel = 'expo' as const;
  readonly name = 'Expo push';
  constructor(
    private readonly cfg: { accessToken: string | undefined; url: string },
    private readonly d: ProviderDeps & { now: () => Date },
  ) {}

  private headers(): Record<string, string> {
    const h: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.cfg.accessToken) h.authorization = `Bearer ${this.cfg.accessToken}`;
    return h;
  }

  async send(items: Outgoing[]): Promise<SendOutcome[]> {
    const chunks: Outgoing[][] = [];
    for (let i = 0; i < items.length; i += 100) chunks.push(items.slice(i, i + 100));
    const results = await mapLimited(chunks, Math.max(1, Math.ceil(this.d.concurrency / 8)), (c) => this.sendChunk(c));
    return results.flat();
  }

  private async sendChunk(items: Outgoing[]): Promise<SendOutcome[]> {
    const body = items.map((o) => {
      const call = o.row.kind === 'call_incoming' || o.row.kind === 'call_stop';
      const dataOnly = o.title === null && o.body === null;
      return {
        to: o.row.target,
        ...(dataOnly ? { _contentAvailable: true } : { title: o.title, body: o.body }),
        data: o.data,
        ...(o.badge !== null ? { badge: o.badge } : {}),
        sound: o.silent || dataOnly ? null : 'default',
        priority: o.row.priority === 'high' ? 'high' : 'normal',
        ttl: call ? 30 : 86_400,
        ...(o.row.conversationId && !call ? { channelId: 'messages', threadId: o.row.conversationId } : call ? { channelId: 'calls' } : {}),
      };
    });
    let res: Response;
    try {
      res = await this.d.fetch(`${this.cfg.url}/--/api/v2/push/send`, { method: 'POST', headers: this.headers(), body: JSON.stringify(body), signal: AbortSignal.timeout(this.d.timeoutMs) });
    } catch (err) {
      return items.map(() => networkFailure(err));
    }
    if (!res.ok) {
      const f = await failureOf(res, this.d.now(), (b) => (b as { errors?: Array<{ message?: string }> })?.errors?.[0]?.message);
      return items.map(() => f);
    }
    const json = (await res.json().catch(() => null)) as { data?: Ticket[] } | null;
    const tickets = json?.data;
    if (!Array.isArray(tickets) || tickets.length !== items.length) return items.map(() => ({ ok: false, retry: true, reason: 'expo: malformed ticket response' }));
    return tickets.map((t) => ticketOutcome(t));
  }

  async receipts(list: OutboxRow[]): Promise<Map<number, SendOutcome>> {
    const out = new Map<number, SendOutcome>();
    const byTicket = new Map(list.map((r) => [r.providerId!, r.id]));
    const ids = [...byTicket.keys()];
    for (let i = 0; i < ids.length; i += 300) {
      const res = await this.d.fetch(`${this.cfg.url}/--/api/v2/push/getReceipts`, {
        method: 'POST',
        headers: this.headers(),
        body: JSON.stringify({ ids: ids.slice(i, i + 300) }),
        signal: AbortSignal.timeout(this.d.timeoutMs),
      });
      if (!res.ok) throw new Error(`expo receipts: HTTP ${res.status}`);
      const json = (await res.json()) as { data?: Record<string, Ticket | { status: 'ok' }> };
      for (const [ticket, receipt] of Object.entries(json.data ?? {})) {
        const rowId = byTicket.get(ticket);
        if (rowId === undefined) continue;
        out.set(rowId, receipt.status === 'ok' ? { ok: true, providerId: ticket, delivered: true } : { ...ticketOutcome(receipt as Ticket), retry: false } as SendOutcome);
      }
    }
    return out;
  }
}

function ticketOutcome(t: Ticket): SendOutcome {
  if (t.status === 'ok') return { ok: true, providerId: t.id };
  const code = t.details?.error ?? 'error';
  return {
    ok: false,
    retry: code === 'MessageRateExceeded',
    invalidToken: code === 'DeviceNotRegistered',
    reason: `expo ${code}: ${t.message}`.slice(0, 500),
  };
}
