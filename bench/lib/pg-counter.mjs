/**
 * A counting TCP proxy in front of PostgreSQL (127.0.0.1 only), used with --count-queries.
 * It reads the frontend message stream and counts simple queries ('Q'), extended-protocol
 * executions ('E') and syncs ('S'), i.e. statements and round trips per sent message.
 * It adds a hop, so latency numbers from a counting run are not the reported ones.
 */
import net from 'node:net';

export async function startPgCounter(pgPort) {
  const counts = { Q: 0, E: 0, S: 0, P: 0, conns: 0 };
  const sockets = new Set();
  const srv = net.createServer((client) => {
    counts.conns++;
    const upstream = net.connect(Number(pgPort), '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    let buf = Buffer.alloc(0);
    let started = false;
    client.on('data', (chunk) => {
      upstream.write(chunk);
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      for (;;) {
        if (!started) {
          if (buf.length < 4) break;
          const len = buf.readInt32BE(0);
          if (buf.length < len) break;
          const code = buf.readInt32BE(4);
          buf = buf.subarray(len);
          if (code !== 80877103) started = true; // anything but SSLRequest is the startup message
          continue;
        }
        if (buf.length < 5) break;
        const len = buf.readInt32BE(1);
        if (buf.length < len + 1) break;
        const t = String.fromCharCode(buf[0]);
        if (t in counts) counts[t]++;
        buf = buf.subarray(len + 1);
      }
    });
    upstream.on('data', (c) => client.write(c));
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const base = { ...counts };
  return {
    port: srv.address().port,
    mark() {
      Object.assign(base, counts);
    },
    summary(messages) {
      const d = (k) => counts[k] - base[k];
      return {
        messages,
        simpleQueries: d('Q'),
        extendedExecutes: d('E'),
        roundTrips: d('Q') + d('S'),
        perMessage: messages ? { statements: Math.round(((d('Q') + d('E')) / messages) * 100) / 100, roundTrips: Math.round(((d('Q') + d('S')) / messages) * 100) / 100 } : null,
        note: 'counted over the whole run (setup, connects, W2, resume); per-message figures divide by W2 messages sent',
      };
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => srv.close(r));
    },
  };
}
