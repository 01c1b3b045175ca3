// Build: bundles src/main.ts to dist/client.js, src/soundworklet.ts to
// dist/sound-worklet.js (the AudioWorklet module, loaded beside client.js) and
// src/launcher.ts to dist/launcher.js (the endpoint list's) and src/player.ts to
// dist/player.js (the recording player's), all also to dist-test/ (below),
// static/client.css and player.css (with xterm.js's CSS) to dist/, and
// copies the rest of static/ to dist/.
// With --tests, also bundles test/unit/*.test.ts (and the wire module the browser tests'
// fake server uses) to test/out/ for `node --test`.
import * as esbuild from "esbuild";
import { cpSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, "dist");
mkdirSync(dist, { recursive: true });
for (const f of readdirSync(dist)) if (f !== ".gitkeep") rmSync(join(dist, f), { recursive: true });

// The page's scripts, twice: dist/ is what racgate serves; dist-test/ is the same with
// RACGATE_TEST_BUILD on (src/build.d.ts), for the browser tests, which load it in its
// place (test/browser/session.mjs) to read the page's state and what it played.
const distTest = join(root, "dist-test");
rmSync(distTest, { recursive: true, force: true });
const scripts = [
  ["src/main.ts", "client.js"],
  ["src/soundworklet.ts", "sound-worklet.js"],
  ["src/launcher.ts", "launcher.js"], // the endpoint list's script (gateway/pages)
  ["src/player.ts", "player.js"], // the recording player's (player.html)
];
for (const [outdir, testBuild] of [[dist, false], [distTest, true]]) for (const [entry, out] of scripts) {
  await esbuild.build({
    entryPoints: [join(root, entry)],
    outfile: join(outdir, out),
    bundle: true,
    minify: true,
    sourcemap: "linked",
    format: "iife",
    target: ["chrome100", "firefox100", "safari15"],
    define: { RACGATE_TEST_BUILD: String(testBuild) },
    logLevel: "warning",
  });
}
// client.css and player.css import xterm.js's stylesheet from node_modules: bundled.
for (const css of ["client.css", "player.css"]) {
  await esbuild.build({
    entryPoints: [join(root, "static", css)],
    outfile: join(dist, css),
    bundle: true,
    minify: true,
    logLevel: "warning",
  });
}
cpSync(join(root, "static"), dist, { recursive: true, filter: (src) => !src.endsWith(".css") });

if (process.argv.includes("--tests")) {
  const out = join(root, "test/out");
  rmSync(out, { recursive: true, force: true });
  const unit = join(root, "test/unit");
  await esbuild.build({
    entryPoints: [
      ...readdirSync(unit).filter((f) => f.endsWith(".test.ts")).map((f) => join(unit, f)),
      join(root, "src/wire.ts"),
    ],
    outdir: out,
    entryNames: "[name]",
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: "inline",
    define: { RACGATE_TEST_BUILD: "false" },
    logLevel: "warning",
  });
}
