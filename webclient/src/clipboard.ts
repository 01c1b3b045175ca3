// Clipboard both ways (docs/protocol.md § 0x08 CLIPBOARD, § 0x83 CLIPBOARD): the async
// clipboard API where the browser allows it, else a visible text panel.

import { MAX_CLIPBOARD } from "./wire.js";

export interface ClipboardUI {
  /** Show the fallback panel with text (remote → browser when writing was not allowed). */
  showFallback(text: string): void;
  /** Tell the user something brief (e.g. text too long). */
  note(text: string): void;
}

const enc = new TextEncoder();

/** ClipboardSync keeps the browser's and the remote's clipboard in step. */
export class ClipboardSync {
  // The text both sides are known to hold; nothing is sent when it did not change.
  private last: string | null = null;
  pasteAllowed = false; // HELLO flag bit 1
  copyAllowed = false; // HELLO flag bit 2

  constructor(
    private send: (text: string) => void,
    private ui: ClipboardUI,
    private nav: Navigator = navigator,
    private doc: Document = document,
  ) {}

  reset(): void {
    this.last = null;
  }

  /** The remote clipboard changed. */
  async fromRemote(text: string): Promise<void> {
    if (!this.copyAllowed) return;
    this.last = text;
    if (this.doc.hasFocus() && this.nav.clipboard?.writeText) {
      try {
        await this.nav.clipboard.writeText(text);
        return;
      } catch {
        /* not permitted: fall back to the panel */
      }
    }
    this.ui.showFallback(text);
  }

  /** Read the browser's clipboard (focus regained) and send it when it changed. */
  async syncFromBrowser(): Promise<void> {
    if (!this.pasteAllowed || !this.nav.clipboard?.readText) return;
    let text: string;
    try {
      text = await this.nav.clipboard.readText();
    } catch {
      return; // not permitted or not focused: the paste event or the panel still work
    }
    if (text === "") return; // an empty browser clipboard does not clear the remote's
    this.offer(text);
  }

  /** Text from a paste event or the panel; force sends even if unchanged. */
  offer(text: string, force = false): boolean {
    if (!this.pasteAllowed) {
      if (force) this.ui.note("pasting to the remote machine is not allowed");
      return false;
    }
    if (!force && text === this.last) return false;
    if (enc.encode(text).length > MAX_CLIPBOARD) {
      this.ui.note("clipboard text is larger than 1 MiB: not sent");
      return false;
    }
    this.last = text;
    this.send(text);
    return true;
  }
}
