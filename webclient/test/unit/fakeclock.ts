// A clock that runs only when told to, for the timers of notice.ts, reconnect.ts and
// touch.ts (they take setTimeout and clearTimeout as an interface).

export interface FakeTimers {
  setTimeout(f: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

export function fakeClock() {
  let now = 0;
  let next = 1;
  const due = new Map<number, { at: number; f: () => void }>();
  const timers: FakeTimers = {
    setTimeout: (f, ms) => {
      due.set(next, { at: now + ms, f });
      return next++;
    },
    clearTimeout: (id) => void due.delete(id as number),
  };
  /** advance runs, in order, every timer due within ms (timers they set included). */
  const advance = (ms: number) => {
    const end = now + ms;
    for (;;) {
      const [id, t] = [...due].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0] ?? [];
      if (!t) break;
      due.delete(id!);
      now = t.at;
      t.f();
    }
    now = end;
  };
  return { timers, advance, pending: () => due.size };
}
