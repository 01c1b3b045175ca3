// KeyboardEvent → X11 keysym for KEY (docs/protocol.md § KEY). Values from X11's
// keysymdef.h; the browser has already applied layout, AltGr and dead keys to `key`.

const NAMED: Record<string, number> = {
  Backspace: 0xff08,
  Tab: 0xff09,
  Clear: 0xff0b,
  Enter: 0xff0d,
  Pause: 0xff13,
  ScrollLock: 0xff14,
  Escape: 0xff1b,
  Compose: 0xff20, // Multi_key
  Home: 0xff50,
  ArrowLeft: 0xff51,
  ArrowUp: 0xff52,
  ArrowRight: 0xff53,
  ArrowDown: 0xff54,
  PageUp: 0xff55,
  PageDown: 0xff56,
  End: 0xff57,
  Select: 0xff60,
  PrintScreen: 0xff61, // Print
  Execute: 0xff62,
  Insert: 0xff63,
  Undo: 0xff65,
  Redo: 0xff66,
  ContextMenu: 0xff67, // Menu
  Find: 0xff68,
  Cancel: 0xff69,
  Help: 0xff6a,
  ModeChange: 0xff7e, // Mode_switch
  NumLock: 0xff7f,
  CapsLock: 0xffe5,
  AltGraph: 0xfe03, // ISO_Level3_Shift
  Delete: 0xffff,
};

// Modifiers whose left and right keys have different keysyms. The Meta key of a
// browser (Windows/Command key) is Super in X11, as X servers map that key.
const SIDED: Record<string, [number, number]> = {
  Shift: [0xffe1, 0xffe2],
  Control: [0xffe3, 0xffe4],
  Alt: [0xffe9, 0xffea],
  Meta: [0xffeb, 0xffec],
  OS: [0xffeb, 0xffec],
  Super: [0xffeb, 0xffec],
  Hyper: [0xffed, 0xffee],
};

// Numpad keys by KeyboardEvent.code, used when the key is what the numpad types
// (NumLock on); with NumLock off the browser reports Home, ArrowUp, ... instead.
const NUMPAD: Record<string, number> = {
  NumpadDecimal: 0xffae, // KP_Decimal
  NumpadComma: 0xffac, // KP_Separator
  NumpadAdd: 0xffab,
  NumpadSubtract: 0xffad,
  NumpadMultiply: 0xffaa,
  NumpadDivide: 0xffaf,
  NumpadEqual: 0xffbd,
  NumpadEnter: 0xff8d,
};

const DOM_KEY_LOCATION_RIGHT = 2;

/**
 * keysymFor returns the X11 keysym for a key event, or null when nothing should be
 * sent (a dead key, whose composed character arrives with the next event, or a key
 * that has no keysym).
 */
export function keysymFor(key: string, code: string, location = 0): number | null {
  if (key === "Dead" || key === "Unidentified" || key === "Process" || key === "") return null;
  if (code.startsWith("Numpad")) {
    if (key.length === 1 && key >= "0" && key <= "9") return 0xffb0 + (key.charCodeAt(0) - 48); // KP_0..KP_9
    const kp = NUMPAD[code];
    if (kp !== undefined && (key.length === 1 || key === "Enter")) return kp;
  }
  const sided = SIDED[key];
  if (sided !== undefined) return sided[location === DOM_KEY_LOCATION_RIGHT || code.endsWith("Right") ? 1 : 0];
  const named = NAMED[key];
  if (named !== undefined) return named;
  if (key.length >= 2 && key[0] === "F") {
    const n = Number(key.slice(1));
    if (Number.isInteger(n) && n >= 1 && n <= 35) return 0xffbe + n - 1; // F1..F35
  }
  return charKeysym(key);
}

/** The keysym of a single character: Latin-1 as itself, other Unicode as 0x01000000+cp. */
export function charKeysym(s: string): number | null {
  const cp = s.codePointAt(0);
  if (cp === undefined) return null;
  if (s.length !== (cp > 0xffff ? 2 : 1)) return null; // not exactly one code point
  if ((cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xff)) return cp;
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return null; // control characters
  return 0x01000000 + cp;
}
