// The terminal's search bar (#terminal-search in client.html): incremental search through
// the scrollback with xterm.js's SearchAddon, Enter / Shift+Enter for the next / previous
// match, Escape back to the terminal.

import type { ISearchOptions, SearchAddon } from "@xterm/addon-search";

// Decorations make the addon highlight every match and report onDidChangeResults (it
// fires only for searches with decorations). Colours follow the page's accent (#fc0).
const DECORATIONS: ISearchOptions["decorations"] = {
  matchBackground: "#665200",
  matchBorder: "#998000",
  matchOverviewRuler: "#998000",
  activeMatchBackground: "#ffcc00",
  activeMatchBorder: "#ffffff",
  activeMatchColorOverviewRuler: "#ffcc00",
};

/** countText is the bar's match indication for a SearchAddon result event. */
export function countText(query: string, resultIndex: number, resultCount: number): string {
  if (query === "") return "";
  if (resultCount === 0) return "no match";
  // resultIndex is -1 past the addon's highlight limit: only the count is known then.
  if (resultIndex < 0) return `${resultCount}+`;
  return `${resultIndex + 1}/${resultCount}`;
}

export interface SearchBarHooks {
  focusTerminal(): void;
  clearSelection(): void;
}

export class SearchBar {
  private input: HTMLInputElement;
  private count: HTMLElement;
  private query = "";

  constructor(private bar: HTMLElement, private addon: SearchAddon, private hooks: SearchBarHooks) {
    const part = <T extends HTMLElement>(sel: string): T => {
      const e = bar.querySelector<T>(sel);
      if (!e) throw new Error(`#${bar.id} lacks ${sel}`);
      return e;
    };
    this.input = part<HTMLInputElement>("input");
    this.count = part("[data-count]");
    addon.onDidChangeResults(({ resultIndex, resultCount }) => {
      this.show(countText(this.query, resultIndex, resultCount), resultCount > 0);
    });
    this.input.addEventListener("input", () => this.find("incremental"));
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        this.find(e.shiftKey ? "previous" : "next");
      } else if (e.key === "Escape") {
        e.preventDefault();
        this.close();
      }
    });
    part("[data-next]").addEventListener("click", () => this.find("next"));
    part("[data-previous]").addEventListener("click", () => this.find("previous"));
    part("[data-close]").addEventListener("click", () => this.close());
  }

  get isOpen(): boolean {
    return !this.bar.hidden;
  }

  /** open shows the bar with the last query selected, so typing replaces it. */
  open(): void {
    this.bar.hidden = false;
    this.input.focus();
    this.input.select();
  }

  /** close hides the bar, drops the highlights and gives the keyboard back to the terminal. */
  close(): void {
    if (this.bar.hidden) return;
    this.bar.hidden = true;
    this.addon.clearDecorations();
    this.hooks.focusTerminal();
  }

  private find(how: "incremental" | "next" | "previous"): void {
    this.query = this.input.value;
    if (this.query === "") {
      this.addon.clearDecorations();
      this.hooks.clearSelection();
      this.show("", true);
      return;
    }
    const opts: ISearchOptions = { decorations: DECORATIONS, incremental: how === "incremental" };
    const found = how === "previous" ? this.addon.findPrevious(this.query, opts) : this.addon.findNext(this.query, opts);
    // onDidChangeResults has set the count already; a miss is shown even without it.
    if (!found) this.show("no match", false);
  }

  private show(text: string, found: boolean): void {
    this.count.textContent = text;
    this.bar.dataset.found = String(found);
  }
}
