// The embedded database's own thread: PGlite (Postgres compiled to WASM) runs every statement
// synchronously, and its data directory is written with synchronous file calls. Here that work
// (CPU and file I/O) never holds the server's event loop. Plain JavaScript so it loads the same
// under tsx, vitest and plain node. The protocol is private to pglite-client.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';

const port = parentPort;
const pg = workerData.dir ? new PGlite(workerData.dir) : new PGlite();
/** Open transactions by id: the handle and how to finish it. */
const txs = new Map();
let nextTx = 1;

const keepText = (value) => value;

/** An error as plain data: Postgres' fields (code, detail, constraint, …) survive the trip. */
function errorData(err) {
  const e = err instanceof Error ? err : new Error(String(err));
  const data = { name: e.name, message: e.message, stack: e.stack };
  for (const [k, v] of Object.entries(e)) if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) data[k] = v;
  return data;
}

function run(target, msg) {
  if (msg.op === 'exec') return target.exec(msg.sql);
  const options = { rowMode: msg.rowMode };
  if (msg.textTypes) options.parsers = Object.fromEntries(msg.textTypes.map((oid) => [oid, keepText]));
  return target.query(msg.sql, msg.params, options);
}

const ROLLBACK = new Error('rollback');

/** Opens a transaction and holds it (PGlite's lock with it) until the client commits or rolls back. */
function begin() {
  return new Promise((begun, failed) => {
    const id = nextTx++;
    const entry = { tx: null, commit: null, rollback: null, settled: null };
    entry.settled = pg.transaction(
      (tx) =>
        new Promise((commit, rollback) => {
          Object.assign(entry, { tx, commit, rollback });
          txs.set(id, entry);
          begun(id);
        }),
    );
    entry.settled.catch((err) => {
      if (!entry.tx) failed(err); // BEGIN itself failed
    });
  });
}

/** PGlite commits when the callback's promise resolves and rolls back when it rejects; the reply waits for either. */
async function finish(msg) {
  const open = txs.get(msg.tx) ?? missing(msg.tx);
  txs.delete(msg.tx);
  if (msg.op === 'commit') {
    open.commit();
    await open.settled;
  } else {
    open.rollback(ROLLBACK);
    await open.settled.catch((err) => {
      if (err !== ROLLBACK) throw err;
    });
  }
}

async function handle(msg) {
  switch (msg.op) {
    case 'query':
    case 'exec':
      return run(msg.tx ? txs.get(msg.tx)?.tx ?? missing(msg.tx) : pg, msg);
    case 'begin':
      return begin();
    case 'commit':
    case 'rollback':
      return finish(msg);
    case 'close':
      return pg.close();
    default:
      throw new Error(`pglite worker: unknown op ${msg.op}`);
  }
}

function missing(id) {
  throw new Error(`pglite worker: no open transaction ${id}`);
}

const reply = (id, result) => {
  try {
    port.postMessage({ id, result });
  } catch (err) {
    port.postMessage({ id, error: errorData(err) }); // a result that cannot be copied
  }
};
port.on('message', (msg) => {
  handle(msg).then(
    (result) => reply(msg.id, result),
    (err) => port.postMessage({ id: msg.id, error: errorData(err) }),
  );
});

pg.waitReady.then(
  () => port.postMessage({ ready: true }),
  (err) => port.postMessage({ ready: false, error: errorData(err) }),
);
