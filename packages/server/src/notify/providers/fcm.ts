import { readFileSync } from 'node:fs';
import { importPKCS8, SignJWT } from 'jose';
import type { SendOutcome } from '../notify.domain.ts';
import { KeepAliveClient, type PlainResponse } from './keepalive.ts';
import { failureOf, mapLimited, networkFailure, type Outgoing, type Provider, type ProviderDeps } from './provider.ts';

interface ServiceAccount {
  client_email: string;
  private_key: string;
  token_uri: string;
  project_id?: string;
}

/** Reads FCM_SERVICE_ACCOUNT: the JSON itself or a path to the file. */
export function loadServiceAccount(v: string): ServiceAccount {
  const text = v.trim().startsWith('{') ? v : readFileSync(v, 'utf8');
  const sa = JSON.parse(text) as ServiceAccount;
  if (!sa.client_email || !sa.private_key || !sa.token_uri) throw new Error('FCM_SERVICE_ACCOUNT: client_email, private_key and token_uri are required');
  return sa;
}

type FcmError = { error?: { status?: string; message?: string; details?: Array<{ errorCode?: string }> } };

/**
 * FCM HTTP v1 (https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages/send): an OAuth2
 * access token from the service account (JWT bearer grant at its token_uri), then one POST per message.
 * Calls go as high-priority data messages (the app shows its own call UI), messages as notifications.
 */
export class FcmProvider implements Provider {
  readonly channel = 'fcm' as const;
  readonly name = 'FCM HTTP v1';
  private token: { value: string; expiresAt: number } | null = null;
  private fetching: Promise<string> | null = null;
  private readonly projectId: string;
  private readonly sendUrl: string;
  /** One request per message: kept-alive sockets, at most NOTIFY_CONCURRENCY of them. */
  private readonly http: KeepAliveClient;

  constructor(
    private readonly sa: ServiceAccount,
    private readonly cfg: { projectId: string | undefined; url: string },
    private readonly d: ProviderDeps & { now: () => Date },
  ) {
    const p = cfg.projectId ?? sa.project_id;
    if (!p) throw new Error('FCM_PROJECT_ID: not set and not in the service account');
    this.projectId = p;
    this.sendUrl = `${cfg.url}/v1/projects/${encodeURIComponent(p)}/messages:send`;
    this.http = new KeepAliveClient(d.concurrency);
  }

  /** The access token is an in-memory cache only: losing it on restart costs one token request. */
  private accessToken(): Promise<string> {
    if (this.token && this.token.expiresAt > Date.now() + 60_000) return Promise.resolve(this.token.value);
    // One exchange at a time: a batch of concurrent sends shares it.
    this.fetching ??= this.exchange().finally(() => (this.fetching = null));
    return this.fetching;
  }

  private async exchange(): Promise<string> {
    const now = Date.now();
    const key = await importPKCS8(this.sa.private_key, 'RS256');
    const iat = Math.floor(now / 1000);
    const assertion = await new SignJWT({ scope: 'https://www.googleapis.com/auth/firebase.messaging' })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .setIssuer(this.sa.client_email)
      .setAudience(this.sa.token_uri)
      .setIssuedAt(iat)
      .setExpirationTime(iat + 3600)
      .sign(key);
    const res = await this.d.fetch(this.sa.token_uri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
      signal: AbortSignal.timeout(this.d.timeoutMs),
    });
    if (!res.ok) throw new Error(`FCM token: HTTP ${res.status}`);
    const j = (await res.json()) as { access_token: string; expires_in?: number };
    this.token = { value: j.access_token, expiresAt: now + (j.expires_in ?? 3600) * 1000 };
    return j.access_token;
  }

  async send(items: Outgoing[]): Promise<SendOutcome[]> {
    await this.accessToken().catch(() => null); // one exchange up front; a failure shows per message below
    return mapLimited(items, this.d.concurrency, (o) => this.one(o));
  }

  async close(): Promise<void> {
    this.http.close();
  }

  private message(o: Outgoing) {
    const call = o.row.kind === 'call_incoming' || o.row.kind === 'call_stop';
    const dataOnly = call || (o.title === null && o.body === null);
    return {
      message: {
        token: o.row.target,
        data: { ...o.data, ...(o.title ? { title: o.title } : {}), ...(o.body ? { body: o.body } : {}), ...(o.badge !== null ? { badge: String(o.badge) } : {}) },
        ...(dataOnly ? {} : { notification: { title: o.title ?? undefined, body: o.body ?? undefined } }),
        android: {
          priority: o.row.priority === 'high' ? 'HIGH' : 'NORMAL',
          ttl: call ? '30s' : '86400s',
          ...(o.row.collapseKey ? { collapse_key: o.row.collapseKey.slice(0, 64) } : {}),
          ...(dataOnly ? {} : { notification: { tag: o.row.conversationId ?? undefined, notification_count: o.badge ?? undefined, ...(o.silent ? {} : { default_sound: true }) } }),
        },
      },
    };
  }

  private async one(o: Outgoing, retried = false): Promise<SendOutcome> {
    let r: PlainResponse;
    try {
      r = await this.http.post(this.sendUrl, { 'content-type': 'application/json', authorization: `Bearer ${await this.accessToken()}` }, JSON.stringify(this.message(o)), this.d.timeoutMs);
    } catch (err) {
      return networkFailure(err);
    }
    if (r.status >= 200 && r.status < 300) {
      let name: string | null = null;
      try {
        name = (JSON.parse(r.text) as { name?: string }).name ?? null;
      } catch {
        /* an empty or odd body still means accepted */
      }
      return { ok: true, providerId: name };
    }
    const res = new Response(r.text, { status: r.status, headers: r.header('retry-after') ? { 'retry-after': r.header('retry-after')! } : {} });
    if (res.status === 401 && !retried) {
      this.token = null; // expired or revoked: one fresh token, then give the answer as is
      return this.one(o, true);
    }
    let code = '';
    const f = await failureOf(res, this.d.now(), (b) => {
      const e = (b as FcmError).error;
      code = e?.details?.find((x) => x.errorCode)?.errorCode ?? e?.status ?? '';
      return `${code} ${e?.message ?? ''}`.trim();
    });
    // UNREGISTERED: the app was uninstalled or the token rotated; SENDER_ID_MISMATCH: a token of another project.
    if (!f.ok && (code === 'UNREGISTERED' || code === 'SENDER_ID_MISMATCH' || (code === 'INVALID_ARGUMENT' && /registration token/i.test(f.reason)))) return { ...f, retry: false, invalidToken: true };
    return f;
  }
}
