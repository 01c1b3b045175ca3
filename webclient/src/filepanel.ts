// The menu's file section (#files, static/client.html), for the owner of a session whose
// server sent FILES (docs/protocol.md § FILES): browse the shared folder, download a file
// (the browser's own download, streamed), upload by the picker or by dropping files on the
// panel or the screen (with progress and Cancel), rename, delete, make a folder. The
// requests go to /files/{token}/ (docs/files.md § API); the server checks who asks and
// keeps every name inside the shared folder.

import { FILES_DOWNLOAD, FILES_UPLOAD } from "./wire.js";
import type { Files } from "./wire.js";

export interface FileElements {
  section: HTMLElement; // #files
  path: HTMLElement; // #files-path: where the list is
  up: HTMLButtonElement; // #files-up
  refresh: HTMLButtonElement; // #files-refresh
  mkdir: HTMLButtonElement; // #files-mkdir
  upload: HTMLButtonElement; // #files-upload: opens the picker
  input: HTMLInputElement; // #files-input: type=file multiple, hidden
  form: HTMLFormElement; // #files-form: a name for a new folder or a rename
  formLabel: HTMLElement; // #files-form-label
  name: HTMLInputElement; // #files-name
  cancelName: HTMLButtonElement; // #files-name-cancel
  list: HTMLUListElement; // #files-list
  transfers: HTMLUListElement; // #files-transfers: uploads under way
  note: HTMLElement; // #files-note: what went wrong, or done
  drop: HTMLElement[]; // where dropped files upload (the panel, the screen)
}

/** An entry of a listing (docs/files.md § API). */
export type Entry = { name: string; dir: boolean; size: number; mtime: string; link?: boolean };

/** sizeText is a byte count for people: "0 B", "512 B", "1.5 KiB", "12 MiB". */
export function sizeText(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  if (i === 0) return `${n} B`;
  return `${n < 10 ? n.toFixed(1).replace(/\.0$/, "") : Math.round(n)} ${units[i]}`;
}

/** joinPath is dir/name as the API names it ("/" is the shared folder). */
export function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

/** parentPath is the folder above path; "/" stays "/". */
export function parentPath(path: string): string {
  const i = path.replace(/\/+$/, "").lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/** validName refuses what the server would: empty, ".", "..", "/" or NUL in it. */
export function validName(name: string): boolean {
  return name !== "" && name !== "." && name !== ".." && !/[/\0]/.test(name) && new TextEncoder().encode(name).length <= 255;
}

/** apiURL is an operation's URL under the session's token, with its query. */
export function apiURL(token: string, op: string, query: Record<string, string>): string {
  return `/files/${token}/${op}?${new URLSearchParams(query).toString()}`;
}

/** errorText is a failed request's message for the user: the server's, or its status. */
export async function errorText(res: Response): Promise<string> {
  try {
    const j = (await res.json()) as { error?: string };
    if (j.error) return j.error;
  } catch {
    /* not JSON */
  }
  return `The request failed (${res.status}).`;
}

type Upload = { file: File; path: string; xhr: XMLHttpRequest | null; row: HTMLLIElement };

export class FilePanel {
  private files: Files | null = null;
  private dir = "/";
  private naming: { kind: "mkdir" } | { kind: "rename"; from: string } | null = null;
  private uploads = new Set<Upload>();
  private listing = 0; // the latest list request: older answers are dropped

  constructor(private readonly el: FileElements) {}

  get canUpload(): boolean {
    return this.files !== null && (this.files.flags & FILES_UPLOAD) !== 0;
  }
  get canDownload(): boolean {
    return this.files !== null && (this.files.flags & FILES_DOWNLOAD) !== 0;
  }

  listen(): void {
    const el = this.el;
    el.up.addEventListener("click", () => void this.open(parentPath(this.dir)));
    el.refresh.addEventListener("click", () => void this.open(this.dir));
    el.mkdir.addEventListener("click", () => this.askName({ kind: "mkdir" }, "New folder name", ""));
    el.upload.addEventListener("click", () => el.input.click());
    el.input.addEventListener("change", () => {
      this.uploadAll([...(el.input.files ?? [])]);
      el.input.value = "";
    });
    el.form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.submitName();
    });
    el.cancelName.addEventListener("click", () => this.closeForm());
    for (const target of el.drop) {
      target.addEventListener("dragover", (e) => {
        if (!this.canUpload || !e.dataTransfer?.types.includes("Files")) return;
        e.preventDefault(); // allows the drop
        e.dataTransfer.dropEffect = "copy";
      });
      target.addEventListener("drop", (e) => {
        if (!this.canUpload || !e.dataTransfer?.files.length) return;
        e.preventDefault();
        this.uploadAll([...e.dataTransfer.files]);
      });
    }
  }

  /** show sets the section up for FILES, at the shared folder. */
  show(m: Files): void {
    this.files = m;
    this.el.section.hidden = false;
    this.el.upload.hidden = this.el.mkdir.hidden = !this.canUpload;
    void this.open("/");
  }

  /**
   * fileReady downloads a file the session left for the browser (FILE_READY: an RDP
   * drive's Download folder) through the browser's own downloads, and shows the folder.
   */
  fileReady(path: string): void {
    const files = this.files;
    if (!files || !this.canDownload) return;
    const a = document.createElement("a");
    a.href = apiURL(files.token, "download", { path });
    a.download = path.slice(path.lastIndexOf("/") + 1);
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
    this.say(`${a.download} is downloading.`);
    void this.open(parentPath(path));
  }

  /** closed hides the section and cancels uploads: their session ended. */
  closed(): void {
    this.files = null;
    this.el.section.hidden = true;
    for (const u of this.uploads) u.xhr?.abort();
    this.uploads.clear();
    this.el.transfers.replaceChildren();
    this.el.list.replaceChildren();
    this.closeForm();
  }

  private say(text: string): void {
    this.el.note.textContent = text;
  }

  /** open lists dir. */
  async open(dir: string): Promise<void> {
    const files = this.files;
    if (!files) return;
    const n = ++this.listing;
    let res: Response;
    try {
      res = await fetch(apiURL(files.token, "list", { path: dir }), { cache: "no-store", credentials: "same-origin" });
    } catch (e) {
      if (n === this.listing) this.say(`The folder could not be read: ${String(e)}`);
      return;
    }
    if (n !== this.listing || files !== this.files) return;
    if (!res.ok) {
      this.say(await errorText(res));
      return;
    }
    const l = (await res.json()) as { path: string; entries: Entry[] };
    if (n !== this.listing || files !== this.files) return;
    this.dir = l.path;
    this.el.path.textContent = l.path;
    this.el.up.disabled = l.path === "/";
    this.el.list.replaceChildren(...l.entries.map((e) => this.row(e)));
    this.el.list.dataset.path = l.path; // for tests: the list shows this folder
  }

  private row(e: Entry): HTMLLIElement {
    const files = this.files!;
    const li = document.createElement("li");
    li.dataset.name = e.name;
    const path = joinPath(this.dir, e.name);
    let name: HTMLElement;
    if (e.dir) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "files-dir";
      b.textContent = `${e.name}/`;
      b.title = "Open the folder";
      b.addEventListener("click", () => void this.open(path));
      name = b;
    } else if (this.canDownload) {
      const a = document.createElement("a");
      a.href = apiURL(files.token, "download", { path });
      a.download = e.name; // the server's Content-Disposition says the same
      a.textContent = e.name;
      a.title = "Download";
      name = a;
    } else {
      name = document.createElement("span");
      name.textContent = e.name;
    }
    name.classList.add("files-name");
    const size = document.createElement("span");
    size.className = "files-size";
    size.textContent = e.dir ? "" : sizeText(e.size);
    li.append(name, size);
    if (this.canUpload) {
      const rename = document.createElement("button");
      rename.type = "button";
      rename.textContent = "Rename";
      rename.dataset.rename = "";
      rename.addEventListener("click", () => this.askName({ kind: "rename", from: path }, `Rename ${e.name} to`, e.name));
      const del = document.createElement("button");
      del.type = "button";
      del.textContent = "Delete";
      del.dataset.delete = "";
      // Two clicks: the first asks, the second (within five seconds) deletes.
      let armed: ReturnType<typeof setTimeout> | null = null;
      del.addEventListener("click", () => {
        if (armed === null) {
          del.textContent = "Really delete?";
          armed = setTimeout(() => {
            armed = null;
            del.textContent = "Delete";
          }, 5000);
          return;
        }
        clearTimeout(armed);
        armed = null;
        void this.post("delete", { path }, `${e.name} deleted.`);
      });
      li.append(rename, del);
    }
    return li;
  }

  private askName(what: NonNullable<FilePanel["naming"]>, label: string, value: string): void {
    this.naming = what;
    this.el.formLabel.textContent = label;
    this.el.name.value = value;
    this.el.form.hidden = false;
    this.el.name.focus();
    this.el.name.select();
  }

  private closeForm(): void {
    this.naming = null;
    this.el.form.hidden = true;
  }

  private async submitName(): Promise<void> {
    const what = this.naming;
    const name = this.el.name.value.trim();
    if (!what) return;
    if (!validName(name)) {
      this.say("That is not a usable file name.");
      return;
    }
    this.closeForm();
    const to = joinPath(this.dir, name);
    if (what.kind === "mkdir") await this.post("mkdir", { path: to }, `Folder ${name} made.`);
    else await this.post("rename", { from: what.from, to }, `Renamed to ${name}.`);
  }

  private async post(op: string, query: Record<string, string>, done: string): Promise<void> {
    const files = this.files;
    if (!files) return;
    let res: Response;
    try {
      res = await fetch(apiURL(files.token, op, query), { method: "POST", credentials: "same-origin" });
    } catch (e) {
      this.say(`That did not work: ${String(e)}`);
      return;
    }
    this.say(res.ok ? done : await errorText(res));
    await this.open(this.dir);
  }

  /** uploadAll uploads files into the folder shown, one after another. */
  uploadAll(list: File[]): void {
    if (!this.canUpload) {
      this.say("Uploading files is turned off for this connection.");
      return;
    }
    const dir = this.dir;
    const queue = list.map((file) => this.addUpload(file, joinPath(dir, file.name)));
    const next = (): void => {
      const u = queue.shift();
      if (u) void this.send(u, false).then(next);
    };
    next();
  }

  private addUpload(file: File, path: string): Upload {
    const row = document.createElement("li");
    row.dataset.name = file.name;
    const label = document.createElement("span");
    label.textContent = `${file.name} (${sizeText(file.size)})`;
    const bar = document.createElement("progress");
    bar.max = Math.max(file.size, 1);
    bar.value = 0;
    bar.setAttribute("aria-label", `Uploading ${file.name}`);
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.textContent = "Cancel";
    cancel.dataset.cancel = "";
    row.append(label, bar, cancel);
    this.el.transfers.append(row);
    const u: Upload = { file, path, xhr: null, row };
    cancel.addEventListener("click", () => {
      u.xhr?.abort();
      this.finish(u, `Upload of ${file.name} cancelled.`);
    });
    this.uploads.add(u);
    return u;
  }

  private finish(u: Upload, text: string): void {
    if (!this.uploads.delete(u)) return;
    u.row.remove();
    this.say(text);
  }

  /** send uploads u (replacing a file of its name with replace); it resolves when done. */
  private send(u: Upload, replace: boolean): Promise<void> {
    const files = this.files;
    if (!files || !this.uploads.has(u)) return Promise.resolve();
    if (files.maxUpload > 0 && u.file.size > files.maxUpload) {
      this.finish(u, `${u.file.name} is larger than the ${sizeText(files.maxUpload)} allowed.`);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      u.xhr = xhr;
      const bar = u.row.querySelector("progress")!;
      xhr.upload.addEventListener("progress", (e) => {
        bar.value = e.loaded;
      });
      xhr.addEventListener("loadend", () => {
        u.xhr = null;
        resolve();
      });
      xhr.addEventListener("error", () => this.finish(u, `Upload of ${u.file.name} failed: the connection broke.`));
      xhr.addEventListener("load", () => {
        if (xhr.status === 201) {
          this.finish(u, `${u.file.name} uploaded.`);
          void this.open(this.dir);
          return;
        }
        let text = `Upload of ${u.file.name} failed (${xhr.status}).`;
        try {
          text = (JSON.parse(xhr.responseText) as { error?: string }).error ?? text;
        } catch {
          /* not JSON */
        }
        if (xhr.status === 409 && !replace) {
          this.offerReplace(u, text);
          return;
        }
        this.finish(u, text);
      });
      xhr.open("PUT", apiURL(files.token, "upload", replace ? { path: u.path, replace: "1" } : { path: u.path }));
      xhr.send(u.file);
    });
  }

  // A name taken: the row offers to replace it.
  private offerReplace(u: Upload, text: string): void {
    this.say(text);
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = "Replace";
    b.dataset.replace = "";
    b.addEventListener("click", () => {
      b.remove();
      void this.send(u, true);
    });
    u.row.querySelector("progress")!.value = 0;
    u.row.insertBefore(b, u.row.lastChild);
  }
}
