// The launcher: the endpoint list at / (gateway/pages/pages.html, which works without
// this script too). A filter that keeps up with hundreds of endpoints, the recent ones
// first, and the keyboard: "/" goes to the filter, the arrows through the list, Enter in
// the filter opens the first match, Escape clears it.

import { loadPref, storePref } from "./prefs.js";

export const RECENT_KEY = "racgate.recent";
export const MAX_RECENT = 5;

/** matches: every word of query is in text (both lower-cased). */
export function matches(text: string, query: string): boolean {
  const t = text.toLowerCase();
  return query.toLowerCase().split(/\s+/).every((w) => t.includes(w));
}

/** withRecent puts name first in the recent list, once, keeping MAX_RECENT. */
export function withRecent(list: string[], name: string): string[] {
  return [name, ...list.filter((n) => n !== name)].slice(0, MAX_RECENT);
}

/** parseRecent reads the stored list; anything else is an empty one. */
export function parseRecent(stored: string | null): string[] {
  try {
    const v: unknown = JSON.parse(stored ?? "[]");
    return Array.isArray(v) ? v.filter((n): n is string => typeof n === "string").slice(0, MAX_RECENT) : [];
  } catch {
    return [];
  }
}

function start(): void {
  const filter = document.getElementById("filter") as HTMLInputElement | null;
  const list = document.getElementById("endpoints");
  const count = document.getElementById("count");
  const noMatch = document.getElementById("no-match");
  const recent = document.getElementById("recent");
  if (!filter || !list || !count || !noMatch || !recent) return;
  const sections = [...list.querySelectorAll<HTMLElement>("section[data-provider]")];
  const items = sections.flatMap((s) => [...s.querySelectorAll<HTMLLIElement>("li")]);
  const text = new Map(items.map((li) => [li, li.dataset.search ?? li.dataset.endpoint ?? ""]));

  // Recent connections, in the order last opened, as copies of their items.
  const byName = new Map(items.map((li) => [li.dataset.endpoint ?? "", li]));
  const names = parseRecent(loadPref(RECENT_KEY)).filter((n) => byName.has(n));
  const recentList = recent.querySelector("ul")!;
  for (const n of names) recentList.append(byName.get(n)!.cloneNode(true));
  recent.hidden = names.length === 0;

  const apply = () => {
    const q = filter.value.trim();
    let shown = 0;
    for (const li of items) {
      const ok = q === "" || matches(text.get(li)!, q);
      li.hidden = !ok;
      if (ok) shown++;
    }
    for (const s of sections) s.hidden = ![...s.querySelectorAll("li")].some((li) => !li.hidden);
    recent.hidden = q !== "" || names.length === 0;
    noMatch.hidden = shown > 0;
    count.textContent = q === "" ? "" : `${shown} of ${items.length} endpoints`;
  };
  filter.addEventListener("input", apply);

  const links = () => [...list.querySelectorAll<HTMLAnchorElement>("a.open")].filter((a) => a.offsetParent !== null);
  filter.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown") {
      e.preventDefault();
      links()[0]?.focus();
    } else if (e.key === "Enter") {
      const first = links()[0];
      if (first && filter.value.trim() !== "") {
        e.preventDefault();
        first.click();
      }
    } else if (e.key === "Escape" && filter.value !== "") {
      e.preventDefault();
      filter.value = "";
      apply();
    }
  });
  list.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
    const ls = links();
    const i = ls.indexOf(document.activeElement as HTMLAnchorElement);
    if (i < 0) return;
    e.preventDefault();
    if (e.key === "ArrowUp" && i === 0) filter.focus();
    else ls[Math.min(ls.length - 1, e.key === "ArrowDown" ? i + 1 : i - 1)].focus();
  });
  document.addEventListener("keydown", (e) => {
    const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement;
    if (e.key === "/" && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault();
      filter.focus();
    }
  });
  // Opening an endpoint, here or in a new tab, makes it the most recent.
  list.addEventListener("click", (e) => {
    const li = (e.target as HTMLElement).closest<HTMLLIElement>("li[data-endpoint]");
    if (li && (e.target as HTMLElement).closest("a")) storePref(RECENT_KEY, JSON.stringify(withRecent(parseRecent(loadPref(RECENT_KEY)), li.dataset.endpoint!)));
  });
  apply();
}

if (typeof document !== "undefined") start();
