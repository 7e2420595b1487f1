/**
 * A bounded queue of shadow comparisons, run one at a time off the request path: each job
 * starts in its own `setImmediate` turn, after the response that produced it was sent, so
 * pending I/O always goes first. When full, new jobs are refused (the caller counts them):
 * a flood of sampled requests costs a counter increment, never a growing backlog.
 */
export class CompareQueue {
  private readonly jobs: Array<() => Promise<void>> = [];
  private running = false;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    readonly capacity: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  get size(): number {
    return this.jobs.length + (this.running ? 1 : 0);
  }

  /** Queues a job; false when the queue is full or closed (the job is dropped). */
  push(job: () => Promise<void>): boolean {
    if (this.closed || this.jobs.length >= this.capacity) return false;
    this.jobs.push(job);
    if (!this.running) {
      this.running = true;
      setImmediate(() => void this.runNext());
    }
    return true;
  }

  /** Resolves once every queued job has run (tests, shutdown). */
  idle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops pending jobs and refuses new ones. */
  close(): void {
    this.closed = true;
    this.jobs.length = 0;
  }

  private async runNext(): Promise<void> {
    const job = this.jobs.shift();
    if (job) {
      try {
        await job();
      } catch (err) {
        this.onError(err);
      }
    }
    if (this.jobs.length > 0) {
      setImmediate(() => void this.runNext());
      return;
    }
    this.running = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
