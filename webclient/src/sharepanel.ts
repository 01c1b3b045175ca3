// The menu's share section (#share, static/client.html), for the owner of a desktop whose
// HELLO has FLAG_SHARE: create a link (view only, or with control; expiring), copy it,
// revoke it, and see who is watching (SHARES, docs/protocol.md § SHARES). Watchers who
// open a link log in and must be allowed on the endpoint; the server checks all that.

import { SHARE_CONTROL, SHARE_CREATE, SHARE_REVOKE } from "./wire.js";
import type { Share, Shares } from "./wire.js";

export interface ShareElements {
  section: HTMLElement; // #share
  mode: HTMLSelectElement; // #share-mode: 0 view, 1 control
  expiry: HTMLSelectElement; // #share-expiry: seconds
  create: HTMLButtonElement; // #share-create
  links: HTMLUListElement; // #share-links
  watchers: HTMLElement; // #share-watchers
}

export interface ShareHooks {
  send(m: Share): void;
  note(text: string): void; // a line for the user (copied, could not copy)
}

/** expiryText says how long a link has left, for its line: "expires in 59 min". */
export function expiryText(seconds: number): string {
  if (seconds <= 0) return "expired";
  if (seconds < 60) return "expires in under a minute";
  const m = Math.ceil(seconds / 60);
  if (m < 120) return `expires in ${m} min`;
  return `expires in ${Math.round(m / 60)} h`;
}

/** watchersText is the line that says who watches, from SHARES' watchers. */
export function watchersText(m: Shares): string {
  if (m.watchers.length === 0) return "Nobody is watching.";
  const who = m.watchers.map((w) => {
    if (w.link === 0) return `${w.name} (administrator)`;
    return `${w.name} (${w.mode === SHARE_CONTROL ? "control" : "view only"})`;
  });
  return `Watching: ${who.join(", ")}.`;
}

/** absoluteURL is a link's URL as the user copies it: SHARES may give a path. */
export function absoluteURL(url: string, base: string): string {
  try {
    return new URL(url, base).href;
  } catch {
    return url;
  }
}

export class SharePanel {
  private deadlines = new Map<HTMLElement, number>(); // each link's expiry label, performance.now() ms
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly el: ShareElements,
    private readonly hooks: ShareHooks,
  ) {}

  listen(): void {
    this.el.create.addEventListener("click", () => {
      this.hooks.send({ type: "SHARE", op: SHARE_CREATE, mode: Number(this.el.mode.value), value: Number(this.el.expiry.value) });
    });
  }

  /** hello shows the section for a session that may be shared, hides it otherwise. */
  hello(shareable: boolean): void {
    this.el.section.hidden = !shareable;
    this.show({ type: "SHARES", links: [], watchers: [] });
  }

  /** closed forgets the links: they belonged to the connection that ended. */
  closed(): void {
    this.el.section.hidden = true;
    this.show({ type: "SHARES", links: [], watchers: [] });
  }

  /** show draws SHARES: every link with its expiry, Copy and Revoke, and the watchers. */
  show(m: Shares): void {
    this.deadlines.clear();
    const now = performance.now();
    const items = m.links.map((l) => {
      const li = document.createElement("li");
      li.dataset.link = String(l.id);
      const label = document.createElement("span");
      label.className = "share-label";
      const url = document.createElement("input");
      url.type = "text";
      url.readOnly = true;
      url.value = absoluteURL(l.url, location.href);
      url.setAttribute("aria-label", `Share link ${l.id}`);
      const copy = document.createElement("button");
      copy.type = "button";
      copy.textContent = "Copy";
      copy.addEventListener("click", () => this.copy(url));
      const revoke = document.createElement("button");
      revoke.type = "button";
      revoke.textContent = "Revoke";
      revoke.dataset.revoke = "";
      revoke.addEventListener("click", () => this.hooks.send({ type: "SHARE", op: SHARE_REVOKE, mode: 0, value: l.id }));
      const kind = l.mode === SHARE_CONTROL ? "View and control" : "View only";
      label.dataset.kind = kind;
      this.deadlines.set(label, now + l.expiresIn * 1000);
      li.append(label, url, copy, revoke);
      return li;
    });
    this.el.links.replaceChildren(...items);
    this.el.watchers.textContent = watchersText(m);
    this.tick();
    if (this.deadlines.size > 0 && this.timer === null) this.timer = setInterval(() => this.tick(), 15000);
    else if (this.deadlines.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private tick(): void {
    const now = performance.now();
    for (const [label, at] of this.deadlines) label.textContent = `${label.dataset.kind}, ${expiryText((at - now) / 1000)}`;
  }

  private copy(input: HTMLInputElement): void {
    input.select();
    navigator.clipboard?.writeText(input.value).then(
      () => this.hooks.note("Share link copied."),
      () => this.hooks.note("Copy the selected link with Ctrl+C."),
    ) ?? this.hooks.note("Copy the selected link with Ctrl+C.");
  }
}
