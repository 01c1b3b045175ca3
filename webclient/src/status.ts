// The status (#status): the session's state in words, and the reconnect button while
// closed. While connecting or closed it is a card in the middle of the page; connected,
// it is the in-session menu (menu.ts), hidden until asked for. Brief notes go to the
// notice line, which never takes the pointer.

import type { State } from "./session.js";

export class StatusOverlay {
  constructor(
    private readonly status: HTMLElement,
    private readonly text: HTMLElement,
    private readonly reconnect: HTMLButtonElement,
    private readonly noteLine: (text: string) => void,
  ) {}

  /**
   * show reports the session's state. The reconnect button shows while closed, and is
   * still offered after a CLOSE whose code says retrying will not help (bad credentials,
   * not allowed): the user may have fixed the cause elsewhere. useful says which it is.
   */
  show(s: State, detail: string, useful: boolean): void {
    this.status.dataset.state = s;
    this.text.textContent = s === "closed" ? `closed: ${detail}` : detail;
    this.reconnect.hidden = s !== "closed";
    this.reconnect.dataset.useful = String(useful);
  }

  /** say replaces the status text (while connecting: what the connection waits for). */
  say(text: string): void {
    this.text.textContent = text;
  }

  /** note tells the user something brief, for a few seconds (and the console). */
  note(text: string): void {
    this.noteLine(text);
    console.info("racgate:", text);
  }

  onReconnect(f: () => void): void {
    this.reconnect.addEventListener("click", f);
  }
}
