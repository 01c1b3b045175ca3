// The recording player's page (/recordings, player.html): the list with its filters, and
// one recording played: a desktop's on the canvas (playback.ts), a terminal's in xterm.js
// (castplayback.ts), with play/pause, a position slider, speed, and for terminals a search
// of the output. #player's data-drawn is the position whose picture is drawn, once it is.

import { CastPlayback, parseCast, searchCast } from "./castplayback.js";
import { Playback, type PlaybackHooks } from "./playback.js";

type Entry = { id: string; kind: string; user: string; endpoint: string; protocol: string; start: string; seconds: number; size: number };
type Index = { id: string; kind: string; meta: { user: string; endpoint: string; start: string }; ms: number; ended: boolean; reason?: string; comment?: string };

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

function size(n: number): string {
  return n < 1 << 20 ? `${Math.ceil(n / 1024)} KB` : `${(n / (1 << 20)).toFixed(1)} MB`;
}

async function loadList(): Promise<void> {
  const form = $<HTMLFormElement>("filters");
  const q = new URLSearchParams();
  for (const [k, v] of new FormData(form)) if (typeof v === "string" && v) q.set(k, v);
  const res = await fetch(`/api/recordings?${q}`, { cache: "no-store" });
  const count = $("count");
  if (!res.ok) {
    count.textContent = `The recordings could not be listed: ${res.status} ${await res.text()}`;
    return;
  }
  const list = (await res.json()) as Entry[];
  const body = $("list").querySelector("tbody")!;
  body.replaceChildren(
    ...list.map((e) => {
      const tr = document.createElement("tr");
      tr.dataset.id = e.id;
      const open = document.createElement("button");
      open.type = "button";
      open.textContent = new Date(e.start).toLocaleString();
      open.setAttribute("aria-label", `Play ${e.user} on ${e.endpoint}, ${new Date(e.start).toLocaleString()}`);
      open.addEventListener("click", () => void openRecording(e.id));
      const cells = [open, e.user, e.endpoint, e.protocol, clock(e.seconds * 1000), size(e.size)].map((c) => {
        const td = document.createElement("td");
        if (typeof c === "string") td.textContent = c;
        else td.append(c);
        return td;
      });
      tr.append(...cells);
      tr.addEventListener("click", (ev) => {
        if (ev.target === tr || (ev.target as HTMLElement).tagName === "TD") void openRecording(e.id);
      });
      return tr;
    }),
  );
  $("list").hidden = list.length === 0;
  count.textContent = list.length ? `${list.length} recording${list.length === 1 ? "" : "s"}` : "No recordings match.";
}

let current: Playback | CastPlayback | null = null;

async function openRecording(id: string): Promise<void> {
  const res = await fetch(`/api/recordings/index?id=${encodeURIComponent(id)}`, { cache: "no-store" });
  const note = $("note");
  if (!res.ok) {
    $("count").textContent = `The recording could not be opened: ${await res.text()}`;
    return;
  }
  const ix = (await res.json()) as Index;
  current?.close();
  current = null;
  const player = $("player");
  const seek = $<HTMLInputElement>("seek");
  const time = $("time");
  const play = $<HTMLButtonElement>("play");
  player.hidden = false;
  $("library").hidden = true;
  $("title").textContent = `${ix.meta.user} on ${ix.meta.endpoint}, ${new Date(ix.meta.start).toLocaleString()}`;
  note.textContent = ix.comment ?? (ix.kind === "desktop" && !ix.ended ? "This recording is still being written, or was cut off." : "");
  delete player.dataset.drawn;
  history.replaceState(null, "", `#${encodeURIComponent(id)}`);
  let duration = 0;
  const showPos = (ms: number) => {
    seek.value = String(Math.round(ms));
    time.textContent = `${clock(ms)} / ${clock(duration)}`;
  };
  const showPlaying = (on: boolean) => {
    play.textContent = on ? "Pause" : "Play";
    play.setAttribute("aria-pressed", String(on));
    player.dataset.state = on ? "playing" : "paused";
  };
  const hooks: PlaybackHooks = {
    position: (ms) => {
      if (document.activeElement !== seek) showPos(ms);
      delete player.dataset.drawn;
    },
    drawn: (ms) => (player.dataset.drawn = String(Math.round(ms))),
    ended: () => showPlaying(false),
    error: (text) => (note.textContent = text),
  };
  const canvas = $<HTMLCanvasElement>("screen");
  const term = $("terminal");
  $("search-bar").hidden = ix.kind !== "terminal";
  canvas.hidden = ix.kind === "terminal";
  term.hidden = ix.kind !== "terminal";
  if (ix.kind === "terminal") {
    const data = await fetch(`/api/recordings/data?id=${encodeURIComponent(id)}`, { cache: "no-store" });
    let cast;
    try {
      cast = parseCast(await data.text());
    } catch (e) {
      note.textContent = `The recording could not be read: ${String(e)}`;
      return;
    }
    term.replaceChildren();
    const p = new CastPlayback(term, cast, hooks);
    current = p;
    duration = p.duration;
    const search = $<HTMLInputElement>("search");
    search.value = "";
    $("hits").replaceChildren();
    $("hit-count").textContent = "";
    search.oninput = () => {
      const hits = searchCast(cast.events, search.value);
      $("hit-count").textContent = search.value ? `${hits.length} found` : "";
      $("hits").replaceChildren(
        ...hits.map((h) => {
          const li = document.createElement("li");
          const b = document.createElement("button");
          b.type = "button";
          b.textContent = `${clock(h.at)} ${h.context}`;
          b.addEventListener("click", () => void p.seek(h.at));
          li.append(b);
          return li;
        }),
      );
    };
  } else {
    current = new Playback(canvas, id, ix.ms, ix.meta.endpoint, hooks);
    duration = ix.ms;
  }
  seek.max = String(duration);
  showPlaying(false);
  showPos(0);
  const p = current;
  play.onclick = () => {
    if (p.isPlaying) p.pause();
    else p.play();
    showPlaying(p.isPlaying);
  };
  seek.oninput = () => (time.textContent = `${clock(Number(seek.value))} / ${clock(duration)}`);
  seek.onchange = () => void p.seek(Number(seek.value));
  const speed = $<HTMLSelectElement>("speed");
  p.speed = Number(speed.value);
  speed.onchange = () => (p.speed = Number(speed.value));
  await p.seek(0);
}

function closePlayer(): void {
  current?.close();
  current = null;
  $("player").hidden = true;
  $("library").hidden = false;
  history.replaceState(null, "", location.pathname);
}

function start(): void {
  $<HTMLFormElement>("filters").addEventListener("submit", (e) => {
    e.preventDefault();
    void loadList();
  });
  $("back").addEventListener("click", closePlayer);
  document.addEventListener("keydown", (e) => {
    if ($("player").hidden || !current || (e.target as HTMLElement).tagName === "INPUT") return;
    if (e.key === " ") {
      e.preventDefault();
      $("play").click();
    } else if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
      e.preventDefault();
      void current.seek(current.position() + (e.key === "ArrowLeft" ? -5000 : 5000));
    } else if (e.key === "Escape") closePlayer();
  });
  void loadList();
  if (location.hash.length > 1) void openRecording(decodeURIComponent(location.hash.slice(1)));
}

start();
