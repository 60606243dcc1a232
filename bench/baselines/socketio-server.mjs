#!/usr/bin/env node
/**
 * Baseline (b): the brief's RECOMMENDED upgrade, written the way its snippet suggests by a
 * competent developer: a plain socket.io server; each `sendMessage` is one INSERT into PostgreSQL
 * and then `io.to(conversationId).emit('newMessage', row)`. No batching, no caching tricks.
 *
 * Auth is minimal (the user id in the handshake `auth`); on connect the socket joins one room per
 * conversation of that user (one query per connection); a send into a room the socket is not in
 * is refused without touching the database. The ack returns the stored row (or an error).
 * Env: PORT, DATABASE_URL, POOL_SIZE (default 10, the same as Sohbet's DATABASE_POOL_SIZE default).
 */
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server } from 'socket.io';
import { BASELINE_SCHEMA, INSERT_MESSAGE } from './schema.mjs';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pg = require(require.resolve('pg', { paths: [path.join(ROOT, 'packages/server')] }));

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_SIZE ?? 10) });
pool.on('error', () => {});
await pool.query(BASELINE_SCHEMA);

const httpServer = http.createServer((req, res) => {
  if (req.url === '/healthz') return res.writeHead(200).end('ok');
  res.writeHead(404).end();
});
const io = new Server(httpServer, { serveClient: false });

io.use((socket, next) => {
  const userId = socket.handshake.auth?.userId;
  if (typeof userId !== 'string' || !userId) return next(new Error('unauthenticated'));
  socket.data.userId = userId;
  next();
});

io.on('connection', async (socket) => {
  try {
    const r = await pool.query('select conversation_id from conversation_members where user_id = $1', [socket.data.userId]);
    socket.join(r.rows.map((x) => x.conversation_id));
    socket.emit('ready');
  } catch {
    socket.disconnect(true);
    return;
  }
  socket.on('sendMessage', async (data, ack) => {
    const reply = typeof ack === 'function' ? ack : () => {};
    if (!data || typeof data.conversationId !== 'string' || typeof data.clientId !== 'string' || typeof data.text !== 'string' || !data.text || data.text.length > 4000)
      return reply({ error: 'bad input' });
    if (!socket.rooms.has(data.conversationId)) return reply({ error: 'not a member' });
    try {
      const r = await pool.query(INSERT_MESSAGE, [data.conversationId, socket.data.userId, data.clientId, data.text]);
      if (!r.rows[0]) return reply({ error: 'not a member' });
      io.to(data.conversationId).emit('newMessage', r.rows[0]);
      reply({ message: r.rows[0] });
    } catch (e) {
      reply({ error: e.code === '23505' ? 'duplicate clientId' : 'internal error' });
    }
  });
});

httpServer.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => console.log(`listening ${httpServer.address().port}`));
const stop = () => io.close(() => pool.end().then(() => process.exit(0)));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
