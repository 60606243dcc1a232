/** One submitted item and how to settle its caller's promise. */
export interface Submitted<I, O> {
  item: I;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit: items submitted while a batch is being written go into the next batch, so
 * under load many items share one transaction; at low load an item is written at once, alone,
 * with no added delay. `write` must settle every item of its batch.
 */
export class GroupCommit<I, O> {
  private queue: Array<Submitted<I, O>> = [];
  private inFlight = 0;

  constructor(
    private readonly write: (batch: Array<Submitted<I, O>>) => Promise<void>,
    private readonly maxBatch = 512,
    // One batch in flight: everything that arrives meanwhile is committed together next (classic
    // group commit). A second concurrent batch mostly waits on the first one's row locks anyway.
    private readonly maxInFlight = 1,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      this.write(batch)
        .catch((err) => {
          for (const s of batch) s.reject(err); // a no-op for items already settled
        })
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
  }
}
