// The entry point of client.js: /connect/{endpoint} shows one remote desktop or terminal
// (page.ts).

import { ConnectPage, pageElements } from "./page.js";

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

function start(): void {
  const elements = pageElements();
  new ConnectPage(endpointFromPath(location.pathname), elements).start();
}

if (typeof document !== "undefined") {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
}
