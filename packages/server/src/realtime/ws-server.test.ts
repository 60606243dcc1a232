import http from 'node:http';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { attachWebSockets, PingRounds, pingAll, trackLiveness, type UpgradeInfo } from './ws-server.ts';

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

describe('ping rounds spread over the interval', () => {
  it('pings one slice per tick, every socket once per round, and terminates a silent socket on its next turn', async () => {
    const { port, accepted } = await serve();
    const clients: WebSocket[] = [];
    for (let i = 0; i < 4; i++) {
      // One at a time, so the server accepts them in this order (the last one never answers a ping).
      clients.push(new WebSocket(`ws://127.0.0.1:${port}/ws`, { autoPong: i < 3 }));
      await once(clients[i]!, 'open');
      while (accepted.length <= i) await new Promise((r) => setTimeout(r, 5));
    }
    const healthy = clients.slice(0, 3);
    const vanished = clients[3]!;
    const pinged = new Map<WebSocket, number>(clients.map((c) => [c, 0]));
    for (const c of clients) c.on('ping', () => pinged.set(c, pinged.get(c)! + 1));
    const rounds = new PingRounds(2);
    for (const a of accepted) rounds.add(a.socket);
    expect(rounds.tick()).toBe(0); // slice 0: two of the four sockets
    await new Promise((r) => setTimeout(r, 100));
    expect([...pinged.values()].reduce((x, y) => x + y, 0)).toBe(2);
    expect(rounds.tick()).toBe(0); // slice 1: the other two
    await new Promise((r) => setTimeout(r, 100));
    expect([...pinged.values()]).toEqual([1, 1, 1, 1]);
    const closed = once(vanished, 'close');
    expect(rounds.tick() + rounds.tick()).toBe(1); // the next round: only the silent one is dropped
    const [code] = (await closed) as [number];
    expect(code).toBe(1006);
    await new Promise((r) => setTimeout(r, 100));
    expect(healthy.map((c) => [c.readyState, pinged.get(c)])).toEqual(healthy.map(() => [WebSocket.OPEN, 2]));
    // A socket removed from the rounds is not pinged any more.
    rounds.delete(accepted[0]!.socket);
    rounds.tick();
    rounds.tick();
    await new Promise((r) => setTimeout(r, 100));
    expect(healthy.map((c) => pinged.get(c))).toEqual([2, 3, 3]);
    for (const c of healthy) c.close();
  });
});
