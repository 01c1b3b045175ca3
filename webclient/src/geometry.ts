// Scaling the framebuffer into the window (fit) or showing it at its actual size (1:1,
// the window scrolling), and mapping input back to framebuffer pixels; pointer buttons
// and wheel notches (docs/protocol.md § POINTER, § WHEEL).

import { BUTTON_BACK, BUTTON_FORWARD, BUTTON_LEFT, BUTTON_MIDDLE, BUTTON_RIGHT } from "./wire.js";

export type Rect = { left: number; top: number; width: number; height: number };

/**
 * fitRect places a fbW×fbH framebuffer in an areaW×areaH area (CSS pixels), scaled to
 * fit with its aspect ratio kept, centred. dpr is devicePixelRatio: a framebuffer of
 * exactly the area's device-pixel size is shown one framebuffer pixel per device pixel.
 */
export function fitRect(areaW: number, areaH: number, fbW: number, fbH: number, dpr = 1): Rect {
  if (fbW <= 0 || fbH <= 0 || areaW <= 0 || areaH <= 0) return { left: 0, top: 0, width: 0, height: 0 };
  let scale = Math.min(areaW / fbW, areaH / fbH);
  // Snap to 1:1 in device pixels when the sizes match after rounding, to avoid a blur.
  if (Math.abs(scale * dpr - 1) < 0.002) scale = 1 / dpr;
  const width = fbW * scale;
  const height = fbH * scale;
  return { left: (areaW - width) / 2, top: (areaH - height) / 2, width, height };
}

/**
 * actualRect places a fbW×fbH framebuffer in an areaW×areaH area (CSS pixels) at its
 * actual size: one framebuffer pixel per device pixel, so fbW/dpr × fbH/dpr CSS pixels.
 * On each axis it is centred where it is smaller than the area and at 0 where it is
 * larger (the area scrolls to show the rest). The offsets fall on whole device pixels,
 * for a sharp picture.
 */
export function actualRect(areaW: number, areaH: number, fbW: number, fbH: number, dpr = 1): Rect {
  if (fbW <= 0 || fbH <= 0 || !(dpr > 0)) return { left: 0, top: 0, width: 0, height: 0 };
  const width = fbW / dpr;
  const height = fbH / dpr;
  const centre = (area: number, size: number) => (size < area ? Math.floor(((area - size) / 2) * dpr) / dpr : 0);
  return { left: centre(areaW, width), top: centre(areaH, height), width, height };
}

/** fillRect stretches the framebuffer over the whole areaW×areaH area (view mode fill). */
export function fillRect(areaW: number, areaH: number): Rect {
  return { left: 0, top: 0, width: Math.max(0, areaW), height: Math.max(0, areaH) };
}

/** The zoom steps the menu goes through (1 is the view mode's own size). */
export const ZOOM_STEPS = [1, 1.25, 1.5, 2, 3, 4];
export const MAX_ZOOM = 4;

/**
 * zoomRect is r (placed by fitRect or actualRect in an areaW×areaH area) zoomed by z:
 * on each axis centred where it is still smaller than the area, else at 0 (the area
 * scrolls).
 */
export function zoomRect(areaW: number, areaH: number, r: Rect, z: number): Rect {
  if (z === 1) return r;
  const width = r.width * z;
  const height = r.height * z;
  const place = (area: number, size: number) => (size < area ? (area - size) / 2 : 0);
  return { left: place(areaW, width), top: place(areaH, height), width, height };
}

/** clampZoom keeps a zoom factor within 1 and MAX_ZOOM. */
export function clampZoom(z: number): number {
  return Number.isFinite(z) ? clamp(z, 1, MAX_ZOOM) : 1;
}

/**
 * scrolledRect is r (relative to its area's top-left corner, as fitRect and actualRect
 * give it) relative to the viewport: the area's corner is at (originX, originY) on the
 * viewport and its content is scrolled by (scrollX, scrollY).
 */
export function scrolledRect(r: Rect, originX: number, originY: number, scrollX: number, scrollY: number): Rect {
  return { left: r.left + originX - scrollX, top: r.top + originY - scrollY, width: r.width, height: r.height };
}

/** toFramebuffer maps a point relative to the page to framebuffer pixels, clamped. */
export function toFramebuffer(px: number, py: number, r: Rect, fbW: number, fbH: number): { x: number; y: number } {
  if (r.width <= 0 || r.height <= 0) return { x: 0, y: 0 };
  const x = Math.floor(((px - r.left) * fbW) / r.width);
  const y = Math.floor(((py - r.top) * fbH) / r.height);
  return { x: clamp(x, 0, fbW - 1), y: clamp(y, 0, fbH - 1) };
}

/** toPage maps the centre of framebuffer pixel (x, y) to a page point. */
export function toPage(x: number, y: number, r: Rect, fbW: number, fbH: number): { x: number; y: number } {
  return { x: r.left + ((x + 0.5) * r.width) / fbW, y: r.top + ((y + 0.5) * r.height) / fbH };
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** The size in device pixels of an area of cssW×cssH CSS pixels, as sent to the server. */
/** scalePercent is devicePixelRatio as RESIZE_REQUEST's scale: percent, 1 to 1000. */
export function scalePercent(dpr: number): number {
  return clamp(Math.round(dpr * 100), 1, 1000);
}

export function devicePixels(cssW: number, cssH: number, dpr: number): { width: number; height: number } {
  return { width: clamp(Math.round(cssW * dpr), 1, 0xffff), height: clamp(Math.round(cssH * dpr), 1, 0xffff) };
}

/**
 * pointerButtons converts MouseEvent.buttons (1 left, 2 right, 4 middle, 8 back,
 * 16 forward) to the POINTER mask (1 left, 2 middle, 4 right, 8 back, 16 forward).
 */
export function pointerButtons(domButtons: number): number {
  let m = 0;
  if (domButtons & 1) m |= BUTTON_LEFT;
  if (domButtons & 2) m |= BUTTON_RIGHT;
  if (domButtons & 4) m |= BUTTON_MIDDLE;
  if (domButtons & 8) m |= BUTTON_BACK;
  if (domButtons & 16) m |= BUTTON_FORWARD;
  return m;
}

/** WheelEvent.deltaMode values. */
export const DELTA_PIXEL = 0;
export const DELTA_LINE = 1;
export const DELTA_PAGE = 2;
const PIXELS_PER_NOTCH = 100;

/**
 * WheelAccumulator turns wheel deltas into whole notches: pixel deltas add up until
 * 100 px make one notch (touchpads send many small deltas); a line or a page is one
 * notch.
 */
export class WheelAccumulator {
  private accX = 0;
  private accY = 0;

  add(deltaX: number, deltaY: number, deltaMode: number): { dx: number; dy: number } {
    const k = deltaMode === DELTA_PIXEL ? 1 / PIXELS_PER_NOTCH : 1;
    this.accX += deltaX * k;
    this.accY += deltaY * k;
    const dx = Math.trunc(this.accX);
    const dy = Math.trunc(this.accY);
    this.accX -= dx;
    this.accY -= dy;
    return { dx: clamp(dx, -32768, 32767), dy: clamp(dy, -32768, 32767) };
  }

  reset(): void {
    this.accX = 0;
    this.accY = 0;
  }
}
