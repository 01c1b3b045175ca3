// The page's clipboard: the clipboard panel (#clipboard-panel, its toggle and send
// button) and the browser events that bring the browser's clipboard to the remote (the
// paste event, focus regained), around ClipboardSync.

import { ClipboardSync, textFormats } from "./clipboard.js";
import { MIME_HTML, MIME_PNG, MIME_TEXT, type ClientClipboard, type ClientClipboardContent, type ClipboardFormats } from "./wire.js";

const PASTE_WAIT_MS = 200;

export interface ClipboardElements {
  toggle: HTMLButtonElement; // #clipboard-toggle
  panel: HTMLElement; // #clipboard-panel
  text: HTMLTextAreaElement; // textarea#clipboard
  send: HTMLButtonElement; // #clipboard-send
}

export interface ClipboardHooks {
  /** Send CLIENT_CLIPBOARD or CLIENT_CLIPBOARD_CONTENT. */
  send(m: ClientClipboard | ClientClipboardContent): void;
  /** Whether the session is connected. */
  connected(): boolean;
  /** Whether a terminal shows: it pastes through xterm.js, not the remote clipboard. */
  terminal(): boolean;
  /** The panel's text for the terminal, typed as input (if pasting is allowed). */
  pasteToTerminal(text: string): void;
  note(text: string): void;
}

export class ClipboardPanel {
  private readonly sync: ClipboardSync;
  // Resolves the wait of a paste shortcut (beforePaste) once the paste event came.
  private pasteWaiter: (() => void) | null = null;

  constructor(
    private readonly e: ClipboardElements,
    private readonly hooks: ClipboardHooks,
  ) {
    this.sync = new ClipboardSync((m) => hooks.send(m), {
      showFallback: (text) => {
        e.text.value = text;
        this.show(true);
      },
      note: (text) => hooks.note(text),
    });
  }

  /** listen wires the panel's buttons and the browser's paste, focus and visibility events. */
  listen(): void {
    const { e, hooks } = this;
    // Browser → remote clipboard: the paste event (keyboard shortcut), and focus regained.
    document.addEventListener("paste", (ev) => {
      if (ev.target === e.text) return; // typing into the panel
      if (hooks.terminal()) return; // xterm.js pastes into the terminal itself
      const data = ev.clipboardData;
      if (data && hooks.connected()) {
        ev.preventDefault();
        const c = textFormats(data.getData(MIME_TEXT));
        c.html = data.getData(MIME_HTML);
        const image = [...data.files].find((f) => f.type === MIME_PNG);
        if (image) {
          // The image is read after the event; the paste shortcut waits for it.
          const waiter = this.pasteWaiter;
          this.pasteWaiter = null;
          void image.arrayBuffer().then(
            (b) => this.sync.offer({ ...c, png: new Uint8Array(b) }),
            () => this.sync.offer(c),
          ).finally(() => waiter?.());
          return;
        }
        this.sync.offer(c);
      }
      this.pasteWaiter?.();
    });
    window.addEventListener("focus", () => {
      if (hooks.connected() && !hooks.terminal()) void this.sync.syncFromBrowser();
    });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && hooks.connected() && !hooks.terminal()) void this.sync.syncFromBrowser();
    });
    e.send.addEventListener("click", () => {
      if (hooks.connected() && hooks.terminal()) {
        hooks.pasteToTerminal(e.text.value);
        return;
      }
      if (hooks.connected() && this.sync.offer(e.text.value, true)) hooks.note("clipboard sent");
    });
    e.toggle.addEventListener("click", () => this.show(Boolean(e.panel.hidden)));
  }

  /** hello starts a connection's clipboard with HELLO's flags. */
  hello(pasteAllowed: boolean, copyAllowed: boolean): void {
    this.sync.reset();
    this.sync.pasteAllowed = pasteAllowed;
    this.sync.copyAllowed = copyAllowed;
    this.e.send.disabled = !pasteAllowed;
  }

  /** syncFromBrowser sends the browser's clipboard if it changed (and may be read). */
  syncFromBrowser(): void {
    void this.sync.syncFromBrowser();
  }

  /** fromRemote: CLIPBOARD or CLIPBOARD_CONTENT, to the browser's clipboard or the panel. */
  fromRemote(c: ClipboardFormats): void {
    void this.sync.fromRemote(c);
  }

  /**
   * beforePaste (a paste shortcut on the canvas) resolves once the browser's paste event
   * brought the clipboard over, or after PASTE_WAIT_MS without one.
   */
  beforePaste(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        if (this.pasteWaiter === done) this.pasteWaiter = null;
        resolve();
      };
      const t = setTimeout(done, PASTE_WAIT_MS);
      this.pasteWaiter = done;
    });
  }

  private show(show: boolean): void {
    this.e.panel.hidden = !show;
    this.e.toggle.setAttribute("aria-expanded", String(show));
  }
}
