// The desktop view for HELLO kind 0: the canvas (#screen) scaled to fit the window, its
// keyboard, pointer and wheel input, the remote cursor, and the remote's size following
// the window's (RESIZE_REQUEST).

import { Display } from "./display.js";
import { devicePixels, fitRect, toFramebuffer } from "./geometry.js";
import type { Rect } from "./geometry.js";
import { Input } from "./input.js";
import type { ClientMessage } from "./wire.js";

const RESIZE_DEBOUNCE_MS = 300;

export interface DesktopHooks {
  /** Send a message if the session is connected. */
  send(m: ClientMessage): void;
  /** Whether the session is connected (input goes to the remote, resizes are asked for). */
  connected(): boolean;
  /** Whether the remote can be resized (HELLO's resize flag). */
  canResize(): boolean;
  /** The page area the canvas fits in, in CSS pixels. */
  area(): { w: number; h: number };
  /** A paste shortcut was pressed: resolves once the browser's paste was handled (Input). */
  beforePaste(): Promise<void>;
}

export class DesktopView {
  /** The framebuffer, drawn by the session. */
  readonly display: Display;
  private rect: Rect = { left: 0, top: 0, width: 0, height: 0 }; // the canvas on the page
  // The size last asked of the server (in the websocket URL or a RESIZE_REQUEST): a
  // request goes out only when the window's size moves away from it.
  private asked = { width: 0, height: 0 };
  private resizeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly hooks: DesktopHooks,
  ) {
    this.display = new Display(canvas);
    new Input(canvas, {
      send: (m) => hooks.send(m),
      active: () => hooks.connected(),
      toFramebuffer: (cx, cy) => toFramebuffer(cx, cy, this.rect, this.display.width, this.display.height),
      beforePaste: () => hooks.beforePaste(),
    });
  }

  /** deviceSize: the page area in device pixels, the size the remote should have. */
  private deviceSize(): { width: number; height: number } {
    const a = this.hooks.area();
    return devicePixels(a.w, a.h, window.devicePixelRatio || 1);
  }

  /** connectSize: the size to ask for in the connect URL (remembered as asked). */
  connectSize(): { width: number; height: number } {
    const { width, height } = this.deviceSize();
    this.asked = { width, height };
    return { width, height };
  }

  /** layout fits the canvas to the page area (after RESIZE, and as the window changes). */
  layout(): void {
    const a = this.hooks.area();
    const rect = fitRect(a.w, a.h, this.display.width, this.display.height, window.devicePixelRatio || 1);
    this.rect = rect;
    const style = this.canvas.style;
    style.left = `${rect.left}px`;
    style.top = `${rect.top}px`;
    style.width = `${rect.width}px`;
    style.height = `${rect.height}px`;
  }

  /** windowResized relayouts now and asks the remote for the new size once it settles. */
  windowResized(): void {
    this.layout();
    clearTimeout(this.resizeTimer);
    this.resizeTimer = setTimeout(() => {
      if (!this.hooks.connected() || !this.hooks.canResize()) return;
      const { width, height } = this.deviceSize();
      if (width === this.asked.width && height === this.asked.height) return;
      this.asked = { width, height };
      this.hooks.send({ type: "RESIZE_REQUEST", width, height });
    }, RESIZE_DEBOUNCE_MS);
  }

  /** cursor shows the remote cursor (CURSOR) over the canvas. */
  cursor(css: string): void {
    this.canvas.style.cursor = css;
  }

  /** state mirrors the session's state on the canvas (canvas#screen[data-state]). */
  state(s: string): void {
    this.canvas.dataset.state = s;
  }

  focus(): void {
    this.canvas.focus({ preventScroll: true });
  }

  set hidden(h: boolean) {
    this.canvas.hidden = h;
  }
}
