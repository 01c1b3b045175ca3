// Terminal settings the page applies without xterm.js itself (testable in node): colour
// schemes by the names of the color-scheme setting, and the size estimate for the URL.

import type { ITheme } from "@xterm/xterm";

export const DEFAULT_FONT_SIZE = 15;
export const FONT_FAMILY = 'ui-monospace, "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace';

/** Built-in colour schemes by the names of the color-scheme setting. */
export const SCHEMES: Record<string, ITheme> = {
  default: { background: "#000000", foreground: "#d0d0d0", cursor: "#d0d0d0", selectionBackground: "#4a4a7a" },
  light: {
    background: "#ffffff", foreground: "#1e1e1e", cursor: "#1e1e1e", cursorAccent: "#ffffff", selectionBackground: "#b5d5ff",
    black: "#000000", red: "#c91b00", green: "#00a600", yellow: "#a68a0d", blue: "#0225c7", magenta: "#c930c7", cyan: "#00a6b2", white: "#bfbfbf",
    brightBlack: "#686868", brightRed: "#e0401f", brightGreen: "#2bb02b", brightYellow: "#b59a00", brightBlue: "#3f5fe0", brightMagenta: "#d948d9", brightCyan: "#13b9c5", brightWhite: "#e5e5e5",
  },
  "solarized-dark": {
    background: "#002b36", foreground: "#839496", cursor: "#93a1a1", cursorAccent: "#002b36", selectionBackground: "#073642",
    black: "#073642", red: "#dc322f", green: "#859900", yellow: "#b58900", blue: "#268bd2", magenta: "#d33682", cyan: "#2aa198", white: "#eee8d5",
    brightBlack: "#002b36", brightRed: "#cb4b16", brightGreen: "#586e75", brightYellow: "#657b83", brightBlue: "#839496", brightMagenta: "#6c71c4", brightCyan: "#93a1a1", brightWhite: "#fdf6e3",
  },
};
// Guacamole's names for the same schemes.
const ALIASES: Record<string, string> = { "gray-black": "default", "green-black": "default", "black-white": "light", "white-black": "default", solarized: "solarized-dark", dark: "default" };

/** schemeName resolves a color-scheme setting to a built-in scheme; unknown → default. */
export function schemeName(name: string): string {
  const n = name.trim().toLowerCase();
  if (Object.hasOwn(SCHEMES, n)) return n; // own keys only: "constructor" is no scheme
  return Object.hasOwn(ALIASES, n) ? ALIASES[n] : "default";
}

/** estimateCells guesses the terminal size in cells for an area before xterm.js exists. */
export function estimateCells(width: number, height: number, cellWidth: number, cellHeight: number): { cols: number; rows: number } {
  const clamp = (n: number) => Math.max(1, Math.min(4096, Math.floor(n)));
  if (!(cellWidth > 0) || !(cellHeight > 0)) return { cols: 80, rows: 24 };
  return { cols: clamp(width / cellWidth), rows: clamp(height / cellHeight) };
}
