// The page's preferences (sound volume and mute, the view mode) in localStorage. Storage
// may be off (privacy settings): then nothing is read and a choice lasts the page's life.

/** loadPref reads a stored preference; null when missing or storage is off. */
export function loadPref(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

/** storePref keeps a preference where storage allows it. */
export function storePref(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    /* not kept */
  }
}
