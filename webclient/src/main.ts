// The entry point of client.js: /connect/{endpoint} shows one remote desktop or terminal
// (page.ts); /share/{token} and /watch/{conn} show someone else's desktop (a share link,
// an administrator watching).

import { ConnectPage, pageElements } from "./page.js";
import type { Target } from "./page.js";

/** endpointFromPath: the last non-empty path segment, URL-decoded. */
export function endpointFromPath(pathname: string): string {
  const parts = pathname.split("/").filter((p) => p !== "");
  const last = parts.length ? parts[parts.length - 1] : "";
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

/** targetFromPath: the websocket for the page at pathname. */
export function targetFromPath(pathname: string): Target {
  const parts = pathname.split("/").filter((p) => p !== "");
  if (parts.length === 2 && (parts[0] === "share" || parts[0] === "watch")) {
    return { wsPath: `/ws/${parts[0]}/${parts[1]}`, title: parts[0] === "share" ? "Shared session" : "Watching a session" };
  }
  const name = endpointFromPath(pathname);
  return { wsPath: `/ws/${encodeURIComponent(name)}`, title: name };
}

function start(): void {
  const elements = pageElements();
  new ConnectPage(targetFromPath(location.pathname), elements).start();
}

if (typeof document !== "undefined") {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
}
