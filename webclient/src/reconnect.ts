// Reconnecting by itself: a connection that was lost without a CLOSE (the network
// dropped, the laptop slept, a proxy cut the websocket) is tried again after 1 s, then 2,
// 4, 8, 16 and 30 s, with the countdown shown and the Reconnect button to go at once; so
// is one whose racgate said it is going away (CLOSE SHUTDOWN: a restart, a rolling
// upgrade). Any other CLOSE (the remote ended, a limit, a policy) and the user's own
// Disconnect are not retried: their reason shows with the button. After MAX_TRIES lost
// tries it gives up.

export const BACKOFF_MS = [1000, 2000, 4000, 8000, 16000, 30000];
export const MAX_TRIES = 10;

/** backoff is the wait before try n (0-based). */
export function backoff(n: number): number {
  return BACKOFF_MS[Math.min(n, BACKOFF_MS.length - 1)];
}

/** The timer functions Reconnector uses (tests pass a fake clock). */
export interface ReconnectTimers {
  setTimeout(f: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

export interface ReconnectHooks {
  /** Open a new connection. */
  reconnect(): void;
  /** Show the countdown (or that it gave up). */
  say(text: string): void;
}

const realTimers: ReconnectTimers = {
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

export class Reconnector {
  private tries = 0;
  private timer: unknown = null;

  constructor(
    private readonly hooks: ReconnectHooks,
    private readonly timers: ReconnectTimers = realTimers,
  ) {}

  /** connected: the connection is up; the next loss starts again at 1 s. */
  connected(): void {
    this.tries = 0;
    this.cancel();
  }

  /**
   * lost: the connection was lost without a CLOSE, or its racgate went away (why says
   * so). It schedules the next try and shows the countdown; false when it has given up.
   */
  lost(why = "connection lost"): boolean {
    this.cancel();
    if (this.tries >= MAX_TRIES) {
      this.hooks.say(`${why}: gave up after ${MAX_TRIES} tries`);
      return false;
    }
    let left = Math.round(backoff(this.tries) / 1000);
    this.tries++;
    const tick = () => {
      if (left <= 0) {
        this.timer = null;
        this.hooks.reconnect();
        return;
      }
      this.hooks.say(`${why}: reconnecting in ${left} s…`);
      left--;
      this.timer = this.timers.setTimeout(tick, 1000);
    };
    tick();
    return true;
  }

  /** cancel stops a countdown (the user reconnected, or left). */
  cancel(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  /** Whether a countdown runs. */
  get pending(): boolean {
    return this.timer !== null;
  }
}
