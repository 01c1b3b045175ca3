// Touch as a mouse, for tablets and phones: one finger taps (left click), holds still for
// LONG_PRESS_MS (right click) or drags (left button held); two fingers scroll (WHEEL, the
// content following the fingers), or, once they have spread or closed by PINCH_START,
// zoom the picture (a local zoom: the remote sees nothing). Points come in framebuffer pixels (the caller maps
// them); what the remote gets is POINTER and WHEEL.

import { DELTA_PIXEL, WheelAccumulator } from "./geometry.js";
import { BUTTON_LEFT, BUTTON_RIGHT } from "./wire.js";
import type { Pointer, Wheel } from "./wire.js";

export const LONG_PRESS_MS = 500;
/** A finger that moves this far (CSS pixels) is dragging, not tapping. */
export const SLOP_PX = 10;
/** Two fingers whose distance changed by this fraction are pinching, not scrolling. */
export const PINCH_START = 0.15;

export interface TouchTimers {
  setTimeout(f: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

const realTimers: TouchTimers = {
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

/** A touch point: where it is on the page (CSS px) and on the framebuffer. */
export type TouchPoint = { id: number; pageX: number; pageY: number; x: number; y: number };

type Finger = { start: TouchPoint; at: TouchPoint };

export class TouchGestures {
  private fingers = new Map<number, Finger>();
  private mode: "none" | "pending" | "drag" | "held" | "scroll" = "none";
  private timer: unknown = null;
  private wheel = new WheelAccumulator();
  private mid: { x: number; y: number } | null = null; // the two fingers' midpoint (page px)
  private spread0 = 0; // the two fingers' distance when the second came down
  private spread = 0; // their distance at the last zoom step
  private pinching = false;

  constructor(
    private readonly send: (m: Pointer | Wheel) => void,
    private readonly timers: TouchTimers = realTimers,
    /** Zoom by ratio around the page point (x, y). */
    private readonly pinch: (ratio: number, x: number, y: number) => void = () => {},
  ) {}

  down(p: TouchPoint): void {
    this.fingers.set(p.id, { start: p, at: p });
    if (this.fingers.size === 1) {
      this.mode = "pending";
      this.cancelTimer();
      this.timer = this.timers.setTimeout(() => this.longPress(), LONG_PRESS_MS);
      return;
    }
    // A second finger: a scroll, whatever the first was doing.
    this.cancelTimer();
    if (this.mode === "drag") this.pointer(this.first().at, 0); // let go of the dragged button
    this.mode = "scroll";
    this.wheel.reset();
    this.mid = this.midpoint();
    this.spread0 = this.spread = this.distance();
    this.pinching = false;
  }

  move(p: TouchPoint): void {
    const f = this.fingers.get(p.id);
    if (!f) return;
    f.at = p;
    switch (this.mode) {
      case "pending":
        if (Math.hypot(p.pageX - f.start.pageX, p.pageY - f.start.pageY) < SLOP_PX) return;
        this.cancelTimer();
        this.mode = "drag";
        this.pointer(f.start, 0);
        this.pointer(f.start, BUTTON_LEFT);
        this.pointer(p, BUTTON_LEFT);
        return;
      case "drag":
        this.pointer(p, BUTTON_LEFT);
        return;
      case "scroll": {
        const m = this.midpoint();
        if (!this.mid || !m) return;
        const d = this.distance();
        if (!this.pinching && this.spread0 > 0 && Math.abs(d / this.spread0 - 1) > PINCH_START) this.pinching = true;
        if (this.pinching) {
          if (this.spread > 0 && d > 0) this.pinch(d / this.spread, m.x, m.y);
          this.spread = d;
          this.mid = m;
          return;
        }
        // The content follows the fingers: fingers up is a scroll down.
        const { dx, dy } = this.wheel.add(this.mid.x - m.x, this.mid.y - m.y, DELTA_PIXEL);
        this.mid = m;
        if (dx !== 0 || dy !== 0) {
          const at = this.first().at;
          this.send({ type: "WHEEL", x: at.x, y: at.y, dx, dy });
        }
        return;
      }
    }
  }

  up(p: TouchPoint, cancelled = false): void {
    const f = this.fingers.get(p.id);
    if (!f) return;
    f.at = p;
    this.fingers.delete(p.id);
    this.cancelTimer();
    switch (this.mode) {
      case "pending": // a tap: a left click where the finger was
        if (!cancelled) {
          this.pointer(f.start, 0);
          this.pointer(f.start, BUTTON_LEFT);
          this.pointer(f.start, 0);
        }
        break;
      case "drag":
        this.pointer(p, 0);
        break;
    }
    if (this.fingers.size === 0) {
      this.mode = "none";
      this.mid = null;
    } else if (this.mode === "scroll" && this.fingers.size === 1) {
      this.mid = null; // one finger left after a scroll: nothing until it lifts
      this.mode = "held";
    }
  }

  private longPress(): void {
    this.timer = null;
    if (this.mode !== "pending") return;
    const f = this.first();
    this.mode = "held"; // the rest of this touch does nothing
    this.pointer(f.start, 0);
    this.pointer(f.start, BUTTON_RIGHT);
    this.pointer(f.start, 0);
  }

  private pointer(p: TouchPoint, buttons: number): void {
    this.send({ type: "POINTER", x: p.x, y: p.y, buttons });
  }

  private first(): Finger {
    return this.fingers.values().next().value!;
  }

  private midpoint(): { x: number; y: number } | null {
    const fs = [...this.fingers.values()];
    if (fs.length < 2) return null;
    return { x: (fs[0].at.pageX + fs[1].at.pageX) / 2, y: (fs[0].at.pageY + fs[1].at.pageY) / 2 };
  }

  private distance(): number {
    const fs = [...this.fingers.values()];
    if (fs.length < 2) return 0;
    return Math.hypot(fs[0].at.pageX - fs[1].at.pageX, fs[0].at.pageY - fs[1].at.pageY);
  }

  private cancelTimer(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }
}
