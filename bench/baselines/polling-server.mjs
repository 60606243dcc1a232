#!/usr/bin/env node
/**
 * Baseline (a): the brief's CURRENT design. Messages live in PostgreSQL; a client sends with one
 * HTTP POST (one INSERT) and learns about new messages by polling every 1.5 s per conversation
 * (react-query `refetchInterval: 1500` in the host app). One Node process, node:http, a pg pool.
 *
 *   POST /messages            {conversationId, clientId, text}  -> 201 the stored row
 *   GET  /messages?conversationId=c1&after=<seq>                -> rows with seq > after, oldest first
 *
 * Auth is minimal on purpose (the `x-user-id` header): the host app's session check is not what
 * is being compared. Membership is checked inside the same statement. Loopback only.
 * Env: PORT, DATABASE_URL, POOL_SIZE (default 10, the same as Sohbet's DATABASE_POOL_SIZE default).
 */
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BASELINE_SCHEMA, INSERT_MESSAGE, MESSAGES_AFTER } from './schema.mjs';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pg = require(require.resolve('pg', { paths: [path.join(ROOT, 'packages/server')] }));

const PAGE = 200;
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_SIZE ?? 10) });
pool.on('error', () => {});
await pool.query(BASELINE_SCHEMA);

function send(res, status, body) {
  const s = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(s) });
  res.end(s);
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > 64 * 1024) reject(Object.assign(new Error('too large'), { status: 413 }));
      else chunks.push(c);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(Object.assign(new Error('bad json'), { status: 400 }));
      }
    });
    req.on('error', reject);
  });
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/healthz') return send(res, 200, { ok: true });
    const userId = req.headers['x-user-id'];
    if (typeof userId !== 'string' || !userId) return send(res, 401, { error: 'unauthenticated' });
    if (url.pathname !== '/messages') return send(res, 404, { error: 'not found' });
    if (req.method === 'POST') {
      const b = await readJson(req);
      if (typeof b.conversationId !== 'string' || typeof b.clientId !== 'string' || typeof b.text !== 'string' || !b.text || b.text.length > 4000)
        return send(res, 400, { error: 'bad input' });
      try {
        const r = await pool.query(INSERT_MESSAGE, [b.conversationId, userId, b.clientId, b.text]);
        if (!r.rows[0]) return send(res, 403, { error: 'not a member' });
        return send(res, 201, r.rows[0]);
      } catch (e) {
        if (e.code === '23505') return send(res, 409, { error: 'duplicate clientId' });
        throw e;
      }
    }
    if (req.method === 'GET') {
      const conversationId = url.searchParams.get('conversationId');
      const after = url.searchParams.get('after') ?? '0';
      if (!conversationId || !/^\d{1,19}$/.test(after)) return send(res, 400, { error: 'bad input' });
      const r = await pool.query(MESSAGES_AFTER, [conversationId, after, userId, PAGE]);
      return send(res, 200, r.rows);
    }
    return send(res, 405, { error: 'method not allowed' });
  } catch (e) {
    send(res, e.status ?? 500, { error: e.status ? e.message : 'internal error' });
  }
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => console.log(`listening ${server.address().port}`));
const stop = () => server.close(() => pool.end().then(() => process.exit(0)));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
