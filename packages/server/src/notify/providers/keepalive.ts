import http from 'node:http';
import https from 'node:https';

export interface PlainResponse {
  status: number;
  text: string;
  header(name: string): string | null;
}

/**
 * POSTs over a pool of kept-alive connections (node:http/https Agent, at most `maxSockets` per
 * host) for providers that take one request per notification (FCM HTTP v1). Measured against
 * global fetch on this box, fetch's per-request machinery (WHATWG streams, Headers, AbortSignal
 * timers) was the cost that held FCM to ~100/s; the plain client keeps sockets open and does no
 * more than write the request and collect the body.
 */
export class KeepAliveClient {
  private readonly agents: { http: http.Agent; https: https.Agent };

  constructor(maxSockets: number, private readonly extra: { ca?: string } = {}) {
    const o = { keepAlive: true, keepAliveMsecs: 10_000, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' as const };
    this.agents = { http: new http.Agent(o), https: new https.Agent({ ...o, ...(extra.ca ? { ca: extra.ca } : {}) }) };
  }

  post(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<PlainResponse> {
    const u = new URL(url);
    const secure = u.protocol === 'https:';
    const mod = secure ? https : http;
    const buf = Buffer.from(body);
    return new Promise((resolve, reject) => {
      const req = mod.request(
        { method: 'POST', hostname: u.hostname, port: u.port || (secure ? 443 : 80), path: u.pathname + u.search, agent: secure ? this.agents.https : this.agents.http, headers: { ...headers, 'content-length': String(buf.length) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              text: Buffer.concat(chunks).toString(),
              header: (n) => {
                const v = res.headers[n.toLowerCase()];
                return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
              },
            }),
          );
          res.on('error', reject);
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { name: 'TimeoutError' })));
      req.on('error', reject);
      req.end(buf);
    });
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}
