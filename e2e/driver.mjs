#!/usr/bin/env node
// Line-mode driver for the Go end-to-end tests: one JSON step per line on stdin (the step
// vocabulary of webclient/test/browser/session.mjs), one JSON result per line on stdout,
// {"ok": true, ...result} or {"ok": false, "error": "..."}. One browser for the whole run,
// so the Go test can act on the remote machine between steps.
import { createInterface } from "node:readline";
import { openBrowser, runStep } from "../webclient/test/browser/session.mjs";

const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");

let b;
try {
  // Sound plays without a click first: the sound tests read what the page played.
  b = await openBrowser({ baseURL: process.env.RACGATE_URL, extraArgs: ["--autoplay-policy=no-user-gesture-required"] });
} catch (e) {
  out({ ok: false, error: `launch: ${e?.message ?? e}` });
  process.exit(1);
}
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  try {
    out({ ok: true, ...(await runStep(b, JSON.parse(line))) });
  } catch (e) {
    out({ ok: false, error: String(e?.message ?? e), logs: b.logs?.slice(-20) });
  }
}
await b.close().catch(() => {});
