// Keyboard, pointer and wheel input on the canvas → KEY, POINTER, WHEEL
// (docs/protocol.md § Client to server).

import { keysymFor } from "./keysym.js";
import { pointerButtons, WheelAccumulator } from "./geometry.js";
import { TouchGestures } from "./touch.js";
import type { ClientMessage } from "./wire.js";

export interface InputTarget {
  /** Send a message if the session is connected. */
  send(m: ClientMessage): void;
  /** Whether input should go to the remote now. */
  active(): boolean;
  /** Map a client (viewport) point to framebuffer pixels. */
  toFramebuffer(clientX: number, clientY: number): { x: number; y: number };
  /**
   * A paste shortcut (Ctrl+V, ⌘V, Shift+Insert) was pressed: the browser's paste
   * event should bring the clipboard first. The returned promise resolves once the
   * clipboard was sent (or given up on), and the key is sent after it.
   */
  beforePaste(): Promise<void>;
  /** Two fingers pinched: zoom the picture by ratio around the page point (x, y). */
  pinch?(ratio: number, x: number, y: number): void;
}

/** Input wires DOM events on el to t. dispose() removes them. */
export class Input {
  private held = new Map<string, { keysym: number; code: string }>(); // by code (or key): what went down
  private buttons = 0;
  private lastX = -1;
  private lastY = -1;
  private wheel = new WheelAccumulator();
  private readonly abort = new AbortController();
  // Keys held back while a paste brings the clipboard over, sent in order afterwards.
  private deferred: Promise<void> | null = null;
  // Fingers: taps, long presses, drags and two-finger scrolls (touch.ts).
  private readonly touch: TouchGestures;

  constructor(private el: HTMLElement, private t: InputTarget) {
    this.touch = new TouchGestures((m) => this.t.send(m), undefined, (ratio, x, y) => this.t.pinch?.(ratio, x, y));
    const o = { signal: this.abort.signal };
    el.addEventListener("keydown", (e) => this.key(e, true), o);
    el.addEventListener("keyup", (e) => this.key(e, false), o);
    el.addEventListener("blur", () => this.releaseAll(), o);
    el.addEventListener("pointerdown", (e) => this.pointer(e, true), o);
    el.addEventListener("pointerup", (e) => this.pointer(e, false), o);
    el.addEventListener("pointermove", (e) => this.pointer(e, false), o);
    el.addEventListener("pointercancel", (e) => this.pointer(e, false), o);
    el.addEventListener("wheel", (e) => this.onWheel(e), { signal: this.abort.signal, passive: false });
    el.addEventListener("contextmenu", (e) => e.preventDefault(), o);
  }

  dispose(): void {
    this.abort.abort();
  }

  private key(e: KeyboardEvent, down: boolean): void {
    if (!this.t.active() || e.isComposing) return;
    const id = e.code || e.key;
    let keysym: number | null;
    if (down) {
      keysym = keysymFor(e.key, e.code, e.location);
      if (keysym === null) return; // dead key: the composed character follows
    } else {
      keysym = this.held.get(id)?.keysym ?? keysymFor(e.key, e.code, e.location);
      this.held.delete(id);
      if (keysym === null) return;
    }
    const isPaste = down && ((e.ctrlKey || e.metaKey) && (e.key === "v" || e.key === "V") || (e.shiftKey && e.key === "Insert"));
    if (isPaste) {
      // Let the browser fire its paste event; the key goes after the clipboard.
      this.deferred = this.t.beforePaste();
    } else {
      e.preventDefault();
    }
    if (down) this.held.set(id, { keysym, code: e.code });
    this.sendKey(down, keysym, e.code);
  }

  private sendKey(down: boolean, keysym: number, code: string): void {
    const m = { type: "KEY", down, keysym, code } as const;
    if (this.deferred) {
      const d = this.deferred;
      const next = d.then(() => this.t.send(m));
      this.deferred = next;
      void next.then(() => {
        if (this.deferred === next) this.deferred = null;
      });
      return;
    }
    this.t.send(m);
  }

  /** Release every key held down (the canvas lost focus: keyups would go elsewhere). */
  releaseAll(): void {
    for (const k of this.held.values()) this.sendKey(false, k.keysym, k.code);
    this.held.clear();
    if (this.buttons !== 0 && this.lastX >= 0) {
      this.buttons = 0;
      this.t.send({ type: "POINTER", x: this.lastX, y: this.lastY, buttons: 0 });
    }
  }

  private pointer(e: PointerEvent, down: boolean): void {
    if (!this.t.active()) return;
    if (e.pointerType === "touch") {
      this.touchPointer(e, down);
      return;
    }
    if (down) {
      this.el.focus({ preventScroll: true });
      try {
        this.el.setPointerCapture(e.pointerId); // drags continue outside the canvas
      } catch {
        /* not capturable (synthetic event) */
      }
    }
    e.preventDefault();
    const { x, y } = this.t.toFramebuffer(e.clientX, e.clientY);
    const buttons = pointerButtons(e.buttons);
    if (x === this.lastX && y === this.lastY && buttons === this.buttons) return;
    this.lastX = x;
    this.lastY = y;
    this.buttons = buttons;
    this.t.send({ type: "POINTER", x, y, buttons });
  }

  private touchPointer(e: PointerEvent, down: boolean): void {
    e.preventDefault();
    const { x, y } = this.t.toFramebuffer(e.clientX, e.clientY);
    const p = { id: e.pointerId, pageX: e.clientX, pageY: e.clientY, x, y };
    if (down) {
      this.el.focus({ preventScroll: true });
      try {
        this.el.setPointerCapture(e.pointerId);
      } catch {
        /* not capturable (synthetic event) */
      }
      this.touch.down(p);
    } else if (e.type === "pointermove") this.touch.move(p);
    else this.touch.up(p, e.type === "pointercancel");
  }

  private onWheel(e: WheelEvent): void {
    if (!this.t.active()) return;
    e.preventDefault();
    const { dx, dy } = this.wheel.add(e.deltaX, e.deltaY, e.deltaMode);
    if (dx === 0 && dy === 0) return;
    const { x, y } = this.t.toFramebuffer(e.clientX, e.clientY);
    this.t.send({ type: "WHEEL", x, y, dx, dy });
  }
}
