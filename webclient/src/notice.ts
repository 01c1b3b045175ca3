// NOTICE (§ NOTICE): a line for the user that does not end the session, in #notice (a
// role="status" aria-live="polite" region, always in the page so that screen readers
// announce what is put in it). It shows for a few seconds, a warning longer and styled
// apart (data-level="warning"); a newer notice replaces the one shown. It takes neither
// the focus nor the pointer.

import { NOTICE_WARNING } from "./wire.js";

export const NOTICE_INFO_MS = 5000;
export const NOTICE_WARNING_MS = 10000;

/** The timer functions NoticeLine uses (tests pass a fake clock). */
export interface NoticeTimers {
  setTimeout(f: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

/** The part of #notice that NoticeLine touches. */
export type NoticeElement = Pick<HTMLElement, "textContent" | "dataset">;

const realTimers: NoticeTimers = {
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

export class NoticeLine {
  private timer: unknown = null;

  constructor(
    private readonly el: NoticeElement,
    private readonly timers: NoticeTimers = realTimers,
  ) {}

  /** show puts text up for NOTICE_INFO_MS, or NOTICE_WARNING_MS for a warning. */
  show(level: number, text: string): void {
    this.cancel();
    const warning = level === NOTICE_WARNING;
    this.el.dataset.level = warning ? "warning" : "info";
    this.el.textContent = text;
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      this.clear();
    }, warning ? NOTICE_WARNING_MS : NOTICE_INFO_MS);
  }

  /** clear takes the notice down now, if one shows. */
  clear(): void {
    this.cancel();
    delete this.el.dataset.level;
    this.el.textContent = "";
  }

  /** The text shown, "" if none. */
  get text(): string {
    return this.el.dataset.level ? (this.el.textContent ?? "") : "";
  }

  private cancel(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }
}
