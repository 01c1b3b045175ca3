// Which terminal links the page opens: only http and https. Text in a terminal comes
// from the remote machine, so a javascript:, data: or file: link must never run.

/** linkTarget returns uri normalized if it is an absolute http(s) URL, else null. */
export function linkTarget(uri: string): string | null {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return null; // relative or malformed: nothing to resolve it against
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return null;
  return u.href;
}

/**
 * openLink opens uri in a new tab without giving it this page (noopener: the remote
 * machine's link cannot reach the session). It reports whether anything was opened.
 */
export function openLink(uri: string, open: (url: string, target: string, features: string) => unknown = (a, b, c) => window.open(a, b, c)): boolean {
  const href = linkTarget(uri);
  if (href === null) return false;
  open(href, "_blank", "noopener,noreferrer");
  return true;
}
