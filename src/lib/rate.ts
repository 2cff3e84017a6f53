/** An optional cap on requests per second ([sync] max_requests_per_second): a token bucket. */
import { sleep } from './retry.ts';

export class RateLimiter {
  private tokens: number;
  private last = Date.now();

  constructor(private readonly perSecond: number) {
    this.tokens = perSecond;
  }

  /** Whether there is no cap (take() would never wait): callers skip it on the hot path. */
  get unlimited(): boolean {
    return this.perSecond <= 0;
  }

  async take(signal?: AbortSignal): Promise<void> {
    if (this.perSecond <= 0) return;
    for (;;) {
      const now = Date.now();
      this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.last) / 1000) * this.perSecond);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await sleep(Math.ceil(((1 - this.tokens) / this.perSecond) * 1000), signal);
    }
  }
}
