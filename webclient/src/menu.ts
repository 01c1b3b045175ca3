// The in-session menu (#status, static/client.html): hidden while connected until asked
// for, with Ctrl+Alt+Shift (as in Guacamole) or the handle at the window's left edge
// (#menu-handle, beside the remote screen, never over it), so that nothing lies over
// the remote while the user works. It holds the clipboard and view controls, keys to send
// (Ctrl+Alt+Del, the Windows key, Alt+Tab, Ctrl+Alt+F1..F12), a box whose text is typed
// as keystrokes (IME input, pasting where the remote has no clipboard), full screen with
// the Keyboard Lock API, the sound controls, the connection's figures and Disconnect.
// While connecting or closed the same element is the card that says so.

import { charKeysym } from "./keysym.js";
import type { Key } from "./wire.js";

/** One key of a combination: its keysym and its KeyboardEvent.code (for scancodes). */
export type Stroke = { keysym: number; code: string };

const CTRL: Stroke = { keysym: 0xffe3, code: "ControlLeft" };
const ALT: Stroke = { keysym: 0xffe9, code: "AltLeft" };

/** The combinations the menu sends, by their data-keys name. */
export const COMBOS: Record<string, Stroke[]> = {
  "ctrl-alt-del": [CTRL, ALT, { keysym: 0xffff, code: "Delete" }],
  super: [{ keysym: 0xffeb, code: "MetaLeft" }],
  "alt-tab": [ALT, { keysym: 0xff09, code: "Tab" }],
};
for (let n = 1; n <= 12; n++) COMBOS[`ctrl-alt-f${n}`] = [CTRL, ALT, { keysym: 0xffbe + n - 1, code: `F${n}` }];

/** comboKeys presses the strokes in order and releases them in reverse: KEY messages. */
export function comboKeys(strokes: Stroke[]): Key[] {
  const down = strokes.map((s): Key => ({ type: "KEY", down: true, keysym: s.keysym, code: s.code }));
  const up = [...strokes].reverse().map((s): Key => ({ type: "KEY", down: false, keysym: s.keysym, code: s.code }));
  return [...down, ...up];
}

/**
 * textKeys types text as keystrokes: each character's keysym pressed and released (the
 * server finds the shift or the Unicode input it needs); line ends as Return, tabs as
 * Tab; other control characters are left out.
 */
export function textKeys(text: string): Key[] {
  const out: Key[] = [];
  const key = (keysym: number, code = "") => out.push({ type: "KEY", down: true, keysym, code }, { type: "KEY", down: false, keysym, code });
  for (const ch of text.replace(/\r\n?/g, "\n")) {
    if (ch === "\n") key(0xff0d, "Enter");
    else if (ch === "\t") key(0xff09, "Tab");
    else {
      const ks = charKeysym(ch);
      if (ks !== null) key(ks);
    }
  }
  return out;
}

/** Keys the on-screen keyboard's box gets as keydown rather than as input. */
const NAMED_KEYS: Record<string, number> = {
  ArrowLeft: 0xff51, ArrowUp: 0xff52, ArrowRight: 0xff53, ArrowDown: 0xff54, Escape: 0xff1b, Tab: 0xff09,
};

/**
 * oskKeys is what an input event of the on-screen keyboard's box types at the remote:
 * text as keystrokes, a deletion as BackSpace (Delete forward), a new line as Return.
 */
export function oskKeys(inputType: string, data: string | null): Key[] {
  const one = (keysym: number, code: string) => comboKeys([{ keysym, code }]);
  switch (inputType) {
    case "insertText":
    case "insertReplacementText":
    case "insertFromPaste":
    case "insertCompositionText":
      return textKeys(data ?? "");
    case "insertLineBreak":
    case "insertParagraph":
      return one(0xff0d, "Enter");
    case "deleteContentBackward":
      return one(0xff08, "Backspace");
    case "deleteContentForward":
      return one(0xffff, "Delete");
  }
  return [];
}

/** MAX_TYPED bounds the text typed at once (each character is two KEY messages). */
export const MAX_TYPED = 4096;

/** rate formats the figures between two samples taken ms apart. */
export function rate(prev: { bytes: number; frames: number }, now: { bytes: number; frames: number }, ms: number): string {
  if (ms <= 0) return "";
  const fps = ((now.frames - prev.frames) * 1000) / ms;
  const kbps = ((now.bytes - prev.bytes) * 1000) / ms / 1024;
  return `${fps.toFixed(fps < 10 ? 1 : 0)} frames/s · ${kbps.toFixed(kbps < 10 ? 1 : 0)} KB/s`;
}

export interface MenuElements {
  handle: HTMLButtonElement; // #menu-handle
  menu: HTMLElement; // #status
  close: HTMLButtonElement; // #menu-close
  keysFn: HTMLSelectElement; // #keys-fn
  typeText: HTMLTextAreaElement; // #type-text
  typeSend: HTMLButtonElement; // #type-send
  fullscreen: HTMLButtonElement; // #fullscreen
  details: HTMLElement; // #details
  disconnect: HTMLButtonElement; // #disconnect
  keyboard: HTMLButtonElement; // #keyboard: raises the on-screen keyboard
  osk: HTMLTextAreaElement; // #osk: what the on-screen keyboard types into
}

export interface MenuHooks {
  /** Send KEY messages (if connected). */
  keys(ks: Key[]): void;
  connected(): boolean;
  /** Bytes and frames received so far. */
  received(): { bytes: number; frames: number };
  /** Send a PING (§ PING); roundTrip gives the last round trip it measured, in ms. */
  ping(): void;
  roundTrip(): number | null;
  disconnect(): void;
  /** Give the keyboard back to the remote screen. */
  focusDisplay(): void;
}

type KeyboardLock = { lock?(keys?: string[]): Promise<void>; unlock?(): void };

export class Menu {
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly e: MenuElements,
    private readonly hooks: MenuHooks,
  ) {
    for (let n = 1; n <= 12; n++) e.keysFn.add(new Option(`Ctrl+Alt+F${n}`, `ctrl-alt-f${n}`));
  }

  get isOpen(): boolean {
    return this.e.menu.dataset.open !== undefined;
  }

  listen(): void {
    const { e, hooks } = this;
    // Capture: the shortcut never reaches the remote as a third modifier.
    window.addEventListener("keydown", (ev) => {
      if (!ev.ctrlKey || !ev.altKey || !ev.shiftKey || !["Control", "Alt", "Shift"].includes(ev.key)) return;
      ev.preventDefault();
      ev.stopImmediatePropagation();
      this.toggle();
    }, true);
    e.handle.addEventListener("click", () => this.toggle());
    e.close.addEventListener("click", () => this.close());
    e.menu.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape" && this.isOpen && ev.target !== e.typeText) {
        ev.preventDefault();
        this.close();
      }
    });
    e.menu.addEventListener("click", (ev) => {
      const b = (ev.target as HTMLElement).closest<HTMLElement>("[data-keys]");
      const combo = b && COMBOS[b.dataset.keys ?? ""];
      if (combo) hooks.keys(comboKeys(combo));
    });
    e.keysFn.addEventListener("change", () => {
      const combo = COMBOS[e.keysFn.value];
      e.keysFn.value = "";
      if (combo) hooks.keys(comboKeys(combo));
    });
    e.typeSend.addEventListener("click", () => {
      const text = e.typeText.value.slice(0, MAX_TYPED);
      if (!text || !hooks.connected()) return;
      hooks.keys(textKeys(text));
      e.typeText.value = "";
    });
    e.fullscreen.addEventListener("click", () => void this.toggleFullscreen());
    document.addEventListener("fullscreenchange", () => {
      const on = document.fullscreenElement !== null;
      e.fullscreen.setAttribute("aria-pressed", String(on));
      e.fullscreen.textContent = on ? "Leave full screen" : "Full screen";
      if (!on) (navigator as Navigator & { keyboard?: KeyboardLock }).keyboard?.unlock?.();
    });
    // The on-screen keyboard (phones, tablets): #osk takes the focus so that it rises;
    // what it types goes to the remote as keystrokes, and #osk stays empty.
    e.keyboard.addEventListener("click", () => {
      this.close(false);
      e.osk.focus();
    });
    e.osk.addEventListener("beforeinput", (ev) => {
      const ks = oskKeys(ev.inputType, ev.data);
      if (ks.length && hooks.connected()) hooks.keys(ks);
      ev.preventDefault();
    });
    e.osk.addEventListener("keydown", (ev) => {
      // Keys that type nothing (arrows, Escape, Tab) from a hardware or on-screen keyboard.
      const ks = NAMED_KEYS[ev.key];
      if (ks !== undefined && hooks.connected()) {
        ev.preventDefault();
        hooks.keys(comboKeys([{ keysym: ks, code: "" }]));
      }
    });
    e.disconnect.addEventListener("click", () => {
      this.close(false);
      hooks.disconnect();
    });
  }

  toggle(): void {
    if (this.isOpen) this.close();
    else this.open();
  }

  /** open shows the menu (only while connected: otherwise its card shows anyway). */
  open(): void {
    if (!this.hooks.connected() || this.isOpen) return;
    this.e.menu.dataset.open = "";
    this.e.handle.setAttribute("aria-expanded", "true");
    this.e.close.focus();
    this.startDetails();
  }

  /** close hides the menu and, unless told not to, gives the keyboard back to the screen. */
  close(focusDisplay = true): void {
    if (!this.isOpen) return;
    delete this.e.menu.dataset.open;
    this.e.handle.setAttribute("aria-expanded", "false");
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (focusDisplay) this.hooks.focusDisplay();
  }

  private startDetails(): void {
    let prev = this.hooks.received();
    let at = performance.now();
    this.e.details.textContent = "measuring…";
    this.hooks.ping();
    this.timer = setInterval(() => {
      const now = this.hooks.received();
      const t = performance.now();
      const rtt = this.hooks.roundTrip();
      this.e.details.textContent = rate(prev, now, t - at) + (rtt === null ? "" : ` · round trip ${Math.round(rtt)} ms`);
      prev = now;
      at = t;
      // The round trip through racgate on the session's own websocket, behind what
      // racgate had queued for this browser.
      this.hooks.ping();
    }, 1000);
  }

  // Full screen takes the keys the browser would keep (Ctrl+W, Alt+Tab, Escape) for the
  // remote where the Keyboard Lock API exists (Chromium); Escape held leaves.
  private async toggleFullscreen(): Promise<void> {
    if (document.fullscreenElement) {
      await document.exitFullscreen().catch(() => {});
      return;
    }
    try {
      await document.documentElement.requestFullscreen();
      await (navigator as Navigator & { keyboard?: KeyboardLock }).keyboard?.lock?.();
    } catch {
      /* refused (no user gesture, or an iframe without allowfullscreen) */
    }
    this.close();
  }
}
