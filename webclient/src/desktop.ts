// The desktop view for HELLO kind 0: the canvas (#screen) scaled to fit the window (or,
// for a remote that cannot be resized, at its actual size with the page area #view
// scrolling: viewmode.ts), its keyboard, pointer and wheel input, the remote cursor, and
// the remote's size following the window's (RESIZE_REQUEST).

import { Display } from "./display.js";
import { actualRect, clampZoom, devicePixels, fillRect, fitRect, scalePercent, scrolledRect, toFramebuffer, zoomRect } from "./geometry.js";
import type { Rect } from "./geometry.js";
import { Input } from "./input.js";
import type { ViewMode } from "./viewmode.js";
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
  /** The zoom changed (setZoom, a pinch). */
  zoomed?(z: number): void;
}

export class DesktopView {
  /** The framebuffer, drawn by the session. */
  readonly display: Display;
  // The canvas in the page area (#view), relative to its content's top-left corner: where
  // the area is scrolled (1:1), the content moves under the viewport (toFramebuffer).
  private rect: Rect = { left: 0, top: 0, width: 0, height: 0 };
  private mode: ViewMode = "fit";
  private zoomBy = 1; // on top of the view mode: the area scrolls over a zoomed picture
  // The size and scale last asked of the server (in the websocket URL or a
  // RESIZE_REQUEST): a request goes out only when the window moves away from them.
  private asked = { width: 0, height: 0, scale: 0 };
  private resizeTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * canvas: canvas#screen; view: #view, the page area holding it (the canvas's
   * containing block), which scrolls in 1:1.
   */
  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly view: HTMLElement,
    private readonly hooks: DesktopHooks,
  ) {
    this.display = new Display(canvas);
    new Input(canvas, {
      send: (m) => hooks.send(m),
      active: () => hooks.connected(),
      toFramebuffer: (cx, cy) => toFramebuffer(cx, cy, this.onViewport(), this.display.width, this.display.height),
      beforePaste: () => hooks.beforePaste(),
      pinch: (ratio, x, y) => this.setZoom(this.zoomBy * ratio, x, y),
    });
    view.dataset.viewMode = this.mode;
    // A press beside the canvas (around a centred picture) would take the keyboard to the
    // page or to the scrolling area: it stays on the canvas. (On a scrollbar chromium
    // keeps it there anyway.)
    view.addEventListener("pointerdown", (e) => {
      if (e.target !== view || !hooks.connected() || canvas.hidden) return;
      setTimeout(() => {
        const a = document.activeElement;
        if (a === view || a === document.body || a === null) this.focus();
      }, 0);
    });
  }

  /** onViewport: the canvas's rect on the viewport now (the area's place and scroll). */
  private onViewport(): Rect {
    const v = this.view;
    const o = v.getBoundingClientRect();
    return scrolledRect(this.rect, o.left + v.clientLeft, o.top + v.clientTop, v.scrollLeft, v.scrollTop);
  }

  /**
   * setMode shows the framebuffer fitted to the area ("fit") or at its actual size
   * ("1:1", the area scrolling where it is larger: #view[data-view-mode="1:1"]).
   */
  setMode(mode: ViewMode): void {
    if (mode === this.mode) return;
    this.mode = mode;
    this.view.dataset.viewMode = mode;
    this.layout();
    // Fitted or filled, nothing is out of sight: the area goes back to its corner.
    if (mode !== "1:1") this.view.scrollTo(0, 0);
  }

  /**
   * deviceSize: the page area in device pixels, the size the remote should have, and
   * devicePixelRatio in percent, the scale it should draw at.
   */
  private deviceSize(): { width: number; height: number; scale: number } {
    const a = this.hooks.area();
    const dpr = window.devicePixelRatio || 1;
    return { ...devicePixels(a.w, a.h, dpr), scale: scalePercent(dpr) };
  }

  /** connectSize: the size and scale to ask for in the connect URL (remembered as asked). */
  connectSize(): { width: number; height: number; scale: number } {
    this.asked = this.deviceSize();
    return this.asked;
  }

  /**
   * layout places the canvas in the page area in the view mode (after RESIZE, and as the
   * window changes). In 1:1 the area's scrollbars come and go with the canvas's size and
   * take from the area's size: a second pass places it in what is left.
   */
  layout(): void {
    const dpr = window.devicePixelRatio || 1;
    const { width: fbW, height: fbH } = this.display;
    let a = this.hooks.area();
    for (let pass = 0; pass < 2; pass++) {
      const placed = this.mode === "1:1" ? actualRect(a.w, a.h, fbW, fbH, dpr) : this.mode === "fill" ? fillRect(a.w, a.h) : fitRect(a.w, a.h, fbW, fbH, dpr);
      const rect = zoomRect(a.w, a.h, placed, this.zoomBy);
      this.rect = rect;
      const style = this.canvas.style;
      style.left = `${rect.left}px`;
      style.top = `${rect.top}px`;
      style.width = `${rect.width}px`;
      style.height = `${rect.height}px`;
      if (this.mode !== "1:1" && this.zoomBy === 1) return;
      const b = this.hooks.area();
      if (b.w === a.w && b.h === a.h) return;
      a = b;
    }
  }

  /** The zoom factor on top of the view mode (1: none). */
  get zoom(): number {
    return this.zoomBy;
  }

  /**
   * setZoom zooms the picture by z (1 to MAX_ZOOM) on top of the view mode, keeping the
   * framebuffer point under (clientX, clientY) (the middle of the area by default) where
   * it is; above 1 the area scrolls (#view[data-zoomed]).
   */
  setZoom(z: number, clientX?: number, clientY?: number): void {
    z = clampZoom(z);
    if (z === this.zoomBy) return;
    const v = this.view;
    const o = v.getBoundingClientRect();
    const ax = (clientX ?? o.left + v.clientWidth / 2) - o.left;
    const ay = (clientY ?? o.top + v.clientHeight / 2) - o.top;
    const before = this.rect;
    // The point under the focus, as a fraction of the picture.
    const fx = before.width > 0 ? (ax + v.scrollLeft - before.left) / before.width : 0.5;
    const fy = before.height > 0 ? (ay + v.scrollTop - before.top) / before.height : 0.5;
    this.zoomBy = z;
    this.hooks.zoomed?.(z);
    if (z === 1) delete v.dataset.zoomed;
    else v.dataset.zoomed = "";
    this.layout();
    const r = this.rect;
    v.scrollTo(r.left + fx * r.width - ax, r.top + fy * r.height - ay);
  }

  /** windowResized relayouts now and asks the remote for the new size once it settles. */
  windowResized(): void {
    this.layout();
    clearTimeout(this.resizeTimer);
    this.resizeTimer = setTimeout(() => {
      if (!this.hooks.connected() || !this.hooks.canResize()) return;
      const want = this.deviceSize();
      if (want.width === this.asked.width && want.height === this.asked.height && want.scale === this.asked.scale) return;
      this.asked = want;
      this.hooks.send({ type: "RESIZE_REQUEST", ...want });
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
