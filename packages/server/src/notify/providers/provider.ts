import type { NotifyLocale } from '@sohbet/protocol';
import type { Failure, OutboxChannel, SendOutcome } from '../notify.domain.ts';
import { httpFailure, parseRetryAfter } from '../notify.domain.ts';
import type { OutboxRow } from '../notify.repo.ts';
import type { RenderedEmail } from '../notify.texts.ts';

/** One notification ready to leave: the row plus its rendered, localized content. */
export interface Outgoing {
  row: OutboxRow;
  locale: NotifyLocale;
  title: string | null;
  body: string | null;
  /** G4 badge: the user's unread total, for message pushes and badge follow-ups. */
  badge: number | null;
  /** Quiet hours: show without sound or vibration. */
  silent: boolean;
  /** String-only data the app reads (FCM data must be strings): type, ids, notificationId. */
  data: Record<string, string>;
  email?: RenderedEmail;
  sms?: string;
}

/** A provider sends a batch and answers one outcome per item, in order; it never throws for a single failure. */
export interface Provider {
  readonly channel: OutboxChannel;
  readonly name: string;
  send(items: Outgoing[]): Promise<SendOutcome[]>;
  /** Providers with a second step (Expo receipts): outcome per row id, absent = not known yet. */
  receipts?(rows: OutboxRow[]): Promise<Map<number, SendOutcome>>;
  close?(): Promise<void>;
}

export interface ProviderDeps {
  fetch: typeof fetch;
  timeoutMs: number;
  concurrency: number;
}

/** Runs fn over items with at most `limit` in flight, results in input order. */
export async function mapLimited<T, R>(items: T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** A network error or timeout: retried. */
export function networkFailure(err: unknown): Failure {
  const e = err as Error & { cause?: { code?: string } };
  const reason = e.name === 'TimeoutError' || e.name === 'AbortError' ? 'timeout' : `network: ${e.cause?.code ?? e.message}`;
  return { ok: false, retry: true, reason };
}

/** The error text of an HTTP response, bounded. */
export async function failureOf(res: Response, now: Date, detail?: (body: unknown) => string | undefined): Promise<Failure> {
  const text = await res.text().catch(() => '');
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* plain text */
  }
  return httpFailure(res.status, detail?.(body) ?? text.slice(0, 300), parseRetryAfter(res.headers.get('retry-after'), now));
}
