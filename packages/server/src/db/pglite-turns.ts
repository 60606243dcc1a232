import type { PGlite, Transaction } from '@electric-sql/pglite';

/** Resolves after the event loop has run a turn: expired timers, socket I/O, other requests. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * PGlite executes every statement synchronously on this thread (Postgres compiled to WASM), and
 * its async API resolves through microtasks only: a job of N statements (a periodic sweep, a
 * transaction), or N callers whose statements queue on PGlite's lock, hold the event loop for all
 * N back to back. The sweeps that fire together every second stalled an idle server for 20–70 ms.
 *
 * Here every statement starts on a fresh loop turn: top-level statements and whole transactions
 * wait in one FIFO lane and each is started a turn after the previous one ended; inside a
 * transaction each statement waits a turn before it runs. Timers, sockets and requests run in
 * between, so the longest stall is one statement instead of one job or one queue. Order and
 * isolation are unchanged (the lane is FIFO and PGlite already ran one statement or one
 * transaction at a time).
 */
export function takeTurns(client: PGlite): void {
  const query = client.query.bind(client);
  const exec = client.exec.bind(client);
  const transaction = client.transaction.bind(client);
  let tail: Promise<unknown> = Promise.resolve();
  const inLane = <T>(fn: () => Promise<T>): Promise<T> => {
    const result = tail.then(nextTurn).then(fn);
    tail = result.catch(() => undefined);
    return result;
  };
  client.query = ((...args: Parameters<PGlite['query']>) => inLane(() => query(...args))) as PGlite['query'];
  client.exec = (...args: Parameters<PGlite['exec']>) => inLane(() => exec(...args));
  client.transaction = (<T>(callback: (tx: Transaction) => Promise<T>): Promise<T> =>
    inLane(() =>
      transaction((tx) => {
        // The transaction holds the lane: its statements only wait a turn, never for the lane.
        const txQuery = tx.query.bind(tx);
        const txExec = tx.exec.bind(tx);
        tx.query = (async (...args: Parameters<Transaction['query']>) => {
          await nextTurn();
          return txQuery(...args);
        }) as Transaction['query'];
        tx.exec = async (...args: Parameters<Transaction['exec']>) => {
          await nextTurn();
          return txExec(...args);
        };
        return callback(tx);
      }),
    )) as PGlite['transaction'];
}
