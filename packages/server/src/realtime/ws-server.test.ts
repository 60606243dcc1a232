import http from 'node:http';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { attachWebSockets, pingAll, trackLiveness, type UpgradeInfo } from './ws-server.ts';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function serve() {
  const server = http.createServer((_req, res) => res.end('http'));
  servers.push(server);
  const accepted: Array<{ socket: WebSocket; info: UpgradeInfo }> = [];
  const wss = attachWebSockets(server, {
    path: '/ws',
    maxPayload: 1024,
    onConnection: (socket, info) => {
      trackLiveness(socket);
      accepted.push({ socket, info });
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return { port, accepted, wss };
}

describe('WebSocket upgrades on the raw server', () => {
  it('accepts /ws (with a query) and keeps only the address and url of the request', async () => {
    const { port, accepted, wss } = await serve();
    const c = new WebSocket(`ws://127.0.0.1:${port}/ws?connectionParams=1`, { headers: { 'x-forwarded-for': '203.0.113.7, 10.0.0.1' } });
    await once(c, 'open');
    expect(accepted).toHaveLength(1);
    expect(accepted[0]!.info).toEqual({ ip: '203.0.113.7', url: '/ws?connectionParams=1' });
    c.close();
    await once(c, 'close');
    wss.close();
  });

  it('refuses an upgrade on any other path with 404', async () => {
    const { port, accepted } = await serve();
    const c = new WebSocket(`ws://127.0.0.1:${port}/other`);
    c.on('error', () => {});
    const [, res] = (await once(c, 'unexpected-response')) as [unknown, http.IncomingMessage];
    expect(res.statusCode).toBe(404);
    expect(accepted).toHaveLength(0);
    c.terminate();
  });

  it('refuses frames larger than maxPayload (close 1009)', async () => {
    const { port } = await serve();
    const c = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    await once(c, 'open');
    c.send('x'.repeat(2048));
    const [code] = (await once(c, 'close')) as [number];
    expect(code).toBe(1009);
  });
});

describe('dead-peer detection with one ping round for all sockets', () => {
  it('keeps a socket that answers pings and terminates one that stopped answering', async () => {
    const { port, accepted } = await serve();
    const healthy = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    // A phone that lost its network: the TCP connection is still there, nothing answers.
    const vanished = new WebSocket(`ws://127.0.0.1:${port}/ws`, { autoPong: false });
    await Promise.all([once(healthy, 'open'), once(vanished, 'open')]);
    await new Promise((r) => setTimeout(r, 50));
    const sockets = accepted.map((a) => a.socket);
    expect(pingAll(sockets)).toBe(0); // first round: everyone gets a ping
    await new Promise((r) => setTimeout(r, 200)); // the healthy client's pong arrives
    const closed = once(vanished, 'close');
    expect(pingAll(sockets)).toBe(1); // second round: the silent one is dropped
    const [code] = (await closed) as [number];
    expect(code).toBe(1006); // terminated, no close handshake
    await new Promise((r) => setTimeout(r, 200));
    expect(healthy.readyState).toBe(WebSocket.OPEN);
    expect(pingAll(sockets)).toBe(0); // it answered again, and stays
    healthy.close();
  });
});
