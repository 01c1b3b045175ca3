// The desktop's view mode, for remotes that cannot follow the window (HELLO's resize
// flag clear): "fit" scales the picture to the window (the default), "1:1" shows it at its
// actual size, one framebuffer pixel per device pixel, the window scrolling to show the
// rest, "fill" stretches it over the whole window, its aspect ratio given up. The toggles
// (#view-mode "Actual size", #view-fill "Fill", in the menu) show only then; elsewhere the
// mode is fit. The user's choice is kept in localStorage.

import { loadPref, storePref } from "./prefs.js";

export type ViewMode = "fit" | "1:1" | "fill";

export const VIEW_MODE_KEY = "racgate.viewMode";

/** parseViewMode reads a stored mode: anything but "1:1" or "fill" (missing, garbage) is fit. */
export function parseViewMode(v: string | null | undefined): ViewMode {
  return v === "1:1" || v === "fill" ? v : "fit";
}

export interface ViewModeHooks {
  /** The mode in force changed (or may have): lay the desktop out in it. */
  changed(mode: ViewMode): void;
  /** Give the keyboard back to the remote screen after a click on the toggle. */
  focusDisplay(): void;
}

/**
 * ViewModeToggle is the #view-mode button: a toggle (aria-pressed) for "Actual size",
 * pressed in 1:1, shown while the mode applies (setAvailable).
 */
export class ViewModeToggle {
  private chosen: ViewMode = parseViewMode(loadPref(VIEW_MODE_KEY));
  private available = false;

  constructor(
    private readonly button: HTMLButtonElement,
    private readonly hooks: ViewModeHooks,
    /** #view-fill: a toggle for "fill", beside the one for "1:1". */
    private readonly fillButton?: HTMLButtonElement,
  ) {
    button.hidden = true;
    if (fillButton) fillButton.hidden = true;
    this.show();
  }

  /** listen wires the button. */
  listen(): void {
    const choose = (mode: ViewMode) => {
      if (!this.available) return;
      this.chosen = this.chosen === mode ? "fit" : mode;
      storePref(VIEW_MODE_KEY, this.chosen);
      this.show();
      this.hooks.changed(this.mode);
      this.hooks.focusDisplay();
    };
    this.button.addEventListener("click", () => choose("1:1"));
    this.fillButton?.addEventListener("click", () => choose("fill"));
  }

  /** The mode in force: the user's choice while the toggle shows, else fit. */
  get mode(): ViewMode {
    return this.available ? this.chosen : "fit";
  }

  /**
   * setAvailable: whether the choice applies now (a connected desktop whose remote
   * cannot be resized). The button shows only then; hidden, the mode is fit.
   */
  setAvailable(available: boolean): void {
    if (available === this.available) return;
    // The button may hide while it has the keyboard: give it back to the display.
    const hadFocus = !available && typeof document !== "undefined" && (document.activeElement === this.button || document.activeElement === this.fillButton);
    this.available = available;
    this.button.hidden = !available;
    if (this.fillButton) this.fillButton.hidden = !available;
    this.show();
    this.hooks.changed(this.mode);
    if (hadFocus) this.hooks.focusDisplay();
  }

  private show(): void {
    const b = this.button;
    const actual = this.chosen === "1:1";
    b.setAttribute("aria-pressed", String(actual)); // pressed: 1:1 (client.css shows it)
    b.title = actual
      ? "Shown at actual size (1:1, scroll to see the rest): click to fit to the window"
      : "Fitted to the window: click to show at actual size (1:1)";
    b.dataset.mode = this.chosen;
    this.fillButton?.setAttribute("aria-pressed", String(this.chosen === "fill"));
  }
}
