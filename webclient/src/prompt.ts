// The login prompt form (§ PROMPT): a small modal over the page while connecting, one
// input per question, hidden (type=password) unless the server lets the answer echo.

import type { Prompt } from "./wire.js";

export interface PromptFormHandlers {
  /** answer is called once per PROMPT: the answers in order, or [] when cancelled. */
  answer(id: number, answers: string[]): void;
}

export class PromptForm {
  private id = -1; // the PROMPT being asked; -1 when the form is hidden

  constructor(
    private form: HTMLFormElement,
    private h: PromptFormHandlers,
  ) {
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const inputs = [...form.querySelectorAll<HTMLInputElement>("input[data-answer]")];
      this.finish(inputs.map((i) => i.value));
    });
    form.addEventListener("keydown", (e) => {
      if (e.key !== "Escape") return;
      e.preventDefault();
      this.finish([]);
    });
    form.querySelector<HTMLButtonElement>("[data-cancel]")?.addEventListener("click", () => this.finish([]));
  }

  /** show replaces whatever the form shows with p's questions and focuses the first. */
  show(p: Prompt): void {
    const doc = this.form.ownerDocument;
    const title = this.form.querySelector<HTMLElement>("[data-name]");
    const instruction = this.form.querySelector<HTMLElement>("[data-instruction]");
    const fields = this.form.querySelector<HTMLElement>("[data-fields]");
    if (!fields) throw new Error("the prompt form lacks [data-fields]");
    if (title) {
      title.textContent = p.name || "Login";
    }
    if (instruction) {
      instruction.textContent = p.instruction;
      instruction.hidden = p.instruction === "";
    }
    fields.replaceChildren();
    p.prompts.forEach((q, i) => {
      const label = doc.createElement("label");
      const input = doc.createElement("input");
      input.type = q.echo ? "text" : "password";
      input.autocomplete = "off";
      input.spellcheck = false;
      input.dataset.answer = String(i);
      input.id = `prompt-${i}`;
      label.htmlFor = input.id;
      label.textContent = q.text.trim() || `Answer ${i + 1}`;
      fields.append(label, input);
    });
    this.id = p.id;
    this.form.hidden = false;
    fields.querySelector("input")?.focus();
  }

  /** hide drops the form without answering (the session ended or connected). */
  hide(): void {
    this.id = -1;
    this.form.hidden = true;
    // Nothing typed stays in the page.
    this.form.querySelector<HTMLElement>("[data-fields]")?.replaceChildren();
  }

  get visible(): boolean {
    return this.id >= 0;
  }

  private finish(answers: string[]): void {
    const id = this.id;
    if (id < 0) return;
    this.hide();
    this.h.answer(id, answers);
  }
}
