/**
 * One lane's places in this process. Each job kind has its own BullMQ worker, each allowed the
 * lane's concurrency, so kinds that share a lane (compose, voice audio and MIDI reading share the
 * interactive one) would together run more than it; every job of the lane passes this gate once
 * BullMQ hands it over (bullmq-queue.ts), and a waiting job with a better priority goes first.
 */
export class LaneGate {
  private running = 0;
  private seq = 0;
  private readonly waiters: { priority: number; seq: number; start: () => void }[] = [];

  constructor(private readonly concurrency: number) {}

  /** Rejects with Error('cancelled') when the signal aborts before a place is free. */
  acquire(priority: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(new Error('cancelled'));
    if (this.running < this.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        priority,
        seq: this.seq++,
        start: () => {
          signal.removeEventListener('abort', onAbort);
          this.running++;
          resolve();
        },
      };
      const onAbort = (): void => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(new Error('cancelled'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      this.waiters.sort((a, b) => a.priority - b.priority || a.seq - b.seq);
    });
  }

  release(): void {
    this.running--;
    const next = this.waiters.shift();
    if (next) next.start();
  }
}
