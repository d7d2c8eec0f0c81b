// <pl-share-page> (/share): upload files once, get a link (and a QR code) anyone can
// download them from until it expires. The manage token that deletes the share stays
// in this browser (localStorage, share-store.js), with the link, under "Your shares on
// this device". A share is made, or a stopped one matched to the files picked again, by
// share-start.js; its files go up through an upload queue (share-uploads.js); this module
// is the page: the form, the rows of the uploads, the link, the shares made here.

import { deleteShare, localLink } from "../share-api.js";
import { newShare, resumeShare } from "../share-start.js";
import { finishShare, forgetShare, savedShares } from "../share-store.js";
import { UploadQueue } from "../share-uploads.js";
import { errorMessage, errorStatus, h } from "./dom.js";
import { attachDrop, guardPageDrops } from "./file-drop.js";
import { shareForm } from "./share-form.js";
import { brandLink, expiryText } from "./share-parts.js";
import { mineRow, readyView, UploadRow } from "./share-views.js";

/** @typedef {import("../share-start.js").StartedShare} StartedShare */
/** @typedef {import("../share-uploads.js").UploadItem} UploadItem */

// -- /share ---------------------------------------------------------------------------------

export class SharePage extends HTMLElement {
  /** @type {File[]} */
  #chosen = [];
  /** @type {UploadRow[]} */
  #rows = [];
  /** @type {UploadQueue | null} */
  #queue = null;
  /** @type {StartedShare | null} */
  #share = null;
  #uploading = false;
  /** The share on screen was made earlier (resumed): cancelling keeps it. */
  #resumed = false;
  /** @type {(() => void)[]} */
  #cleanup = [];
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #tick;

  #alert = h("p", { class: "form-error", role: "alert" });
  #card = h("section", { class: "card share-card", "aria-labelledby": "share-title" });
  #mine = h("section", { class: "card share-mine", "aria-labelledby": "mine-title" });

  connectedCallback() {
    document.title = "Share files by link — peerlane";
    if (!this.firstChild) {
      this.append(
        h("main", { class: "entry share-entry", id: "main" }, [
          brandLink(),
          this.#card,
          this.#mine,
          h("p", { class: "entry-foot muted" }, [
            "The files are kept on this server until the link expires. ",
            h("a", { href: "/", text: "Chat in a room instead" }),
          ]),
        ]),
      );
      this.#renderForm();
      this.#renderMine();
    }
    this.#cleanup.push(guardPageDrops());
    this.#cleanup.push(
      attachDrop(this.#card, {
        text: "Drop files to add them",
        onFiles: (files) => this.#add(files),
        enabled: () => !this.#uploading && !this.#share,
      }),
    );
    window.addEventListener("beforeunload", this.#beforeUnload);
    this.#tick = setInterval(() => this.#renderExpiries(), 30_000);
  }

  disconnectedCallback() {
    for (const undo of this.#cleanup.splice(0)) undo();
    window.removeEventListener("beforeunload", this.#beforeUnload);
    clearInterval(this.#tick);
    this.#queue?.cancel();
  }

  /** @param {BeforeUnloadEvent} event */
  #beforeUnload = (event) => {
    if (this.#uploading) event.preventDefault();
  };

  /** @param {File[]} files */
  #add(files) {
    const key = (/** @type {File} */ f) => `${f.webkitRelativePath || f.name}\u0000${f.size}\u0000${f.lastModified}`;
    const have = new Set(this.#chosen.map(key));
    for (const f of files) if (!have.has(key(f))) this.#chosen.push(f);
    this.#alert.textContent = "";
    this.#renderForm();
  }

  // -- step 1: choose files and options --------------------------------------------------

  #renderForm() {
    const { form, choose } = shareForm(this.#chosen, this.#alert, {
      add: (files) => this.#add(files),
      remove: (i) => {
        this.#chosen.splice(i, 1);
        this.#renderForm();
        const next = this.#card.querySelector(".file-list .icon-btn") ?? this.#card.querySelector(".pick-zone .btn");
        /** @type {HTMLElement | null} */ (next)?.focus();
      },
      start: (ttl, max, submit) => void this.#start(ttl, max, submit),
    });
    const focusedChoose = document.activeElement?.closest?.(".pick-zone") != null;
    this.#card.replaceChildren(form);
    if (focusedChoose) choose.focus();
  }

  // -- step 2: create the share and upload ------------------------------------------------

  /**
   * @param {number} ttl
   * @param {number | null} maxDownloads
   * @param {HTMLButtonElement} button
   */
  async #start(ttl, maxDownloads, button) {
    if (this.#uploading) return;
    this.#uploading = true;
    this.#alert.textContent = "";
    button.disabled = true;
    button.classList.add("busy");
    /** @type {Awaited<ReturnType<typeof newShare>>} */
    let started;
    try {
      started = await newShare(this.#chosen.slice(), ttl, maxDownloads);
    } catch (err) {
      this.#uploading = false;
      button.disabled = false;
      button.classList.remove("busy");
      this.#alert.textContent = errorMessage(err, "Couldn't create the share; try again.");
      return;
    }
    const queue = this.#startQueue(started.share, started.items, false);
    this.#renderUploading();
    await this.#uploadAll(queue, () => queue.run());
  }

  /**
   * The queue of the share on screen, and a row per file.
   * @param {StartedShare} share
   * @param {UploadItem[]} items
   * @param {boolean} resumed  the share was made earlier: cancelling keeps it
   */
  #startQueue(share, items, resumed) {
    const queue = new UploadQueue(share, items);
    /** @param {UploadItem} item */
    const retry = (item) => {
      this.#alert.textContent = "";
      // A run under way takes the retried file in: only a finished one is started again.
      if (queue.running) void queue.retry(item);
      else void this.#uploadAll(queue, () => queue.retry(item));
    };
    this.#rows = items.map((item) => new UploadRow(item, retry));
    const rowOf = new Map(this.#rows.map((row) => [row.item, row]));
    queue.addEventListener("change", (event) =>
      rowOf.get(/** @type {CustomEvent<UploadItem>} */ (event).detail)?.changed(),
    );
    queue.addEventListener("progress", (event) =>
      rowOf.get(/** @type {CustomEvent<UploadItem>} */ (event).detail)?.progressed(),
    );
    this.#share = share;
    this.#queue = queue;
    this.#resumed = resumed;
    return queue;
  }

  #renderUploading() {
    const list = h(
      "ul",
      { class: "file-list uploads", "aria-label": "Uploads" },
      this.#rows.map((r) => r.el),
    );
    const cancel = h("button", {
      type: "button",
      class: "btn",
      text: this.#resumed ? "Stop uploading" : "Cancel upload",
      title: this.#resumed ? "Stop for now; the share stays" : "Stop and delete the share",
      onclick: () => void this.#cancel(),
    });
    const heading = h("h1", { id: "share-title", class: "card-title", text: "Uploading…", tabindex: "-1" });
    this.#card.replaceChildren(
      h("div", { class: "stack" }, [
        heading,
        h("p", { class: "muted", text: "Keep this page open until every file is uploaded." }),
        list,
        h("div", { class: "btn-row" }, [cancel]),
        this.#alert,
      ]),
    );
    heading.focus();
  }

  /**
   * Run the queue; once it is through, say what did not finish, or show the link.
   * @param {UploadQueue} queue
   * @param {() => Promise<import("../share-uploads.js").QueueOutcome>} run
   */
  async #uploadAll(queue, run) {
    this.#uploading = true;
    const outcome = await run();
    if (this.#queue !== queue) return; // cancelled, or another share since
    this.#uploading = false;
    if (outcome === "cancelled") return;
    const failed = this.#rows.filter((r) => r.item.state === "failed");
    if (outcome === "failed" && failed.length) {
      this.#alert.textContent =
        failed.length === this.#rows.length
          ? "The upload stopped. Retry to continue where it left off."
          : `${failed.length} of ${this.#rows.length} files did not finish. Retry to continue where they left off.`;
      return;
    }
    finishShare(queue.share, localLink(queue.share.link));
    this.#renderReady();
  }

  async #cancel() {
    const share = this.#share;
    this.#queue?.cancel();
    this.#queue = null;
    this.#uploading = false;
    this.#share = null;
    if (share && !this.#resumed) {
      try {
        await deleteShare(share.id, share.manage_token);
        forgetShare(share.id);
      } catch {
        /* still listed under "Your shares" with its Delete button */
      }
    }
    this.#rows = [];
    this.#renderForm();
    this.#renderMine();
    /** @type {HTMLElement | null} */ (this.#card.querySelector(".pick-zone .btn"))?.focus();
  }

  // -- step 3: the link ---------------------------------------------------------------------

  #renderReady() {
    const share = this.#share;
    if (!share) return;
    const view = readyView(share, this.#rows, this.#alert, {
      delete: (button) => void this.#delete(share.id, share.manage_token, button),
      more: () => {
        this.#share = null;
        this.#queue = null;
        this.#rows = [];
        this.#chosen = [];
        this.#renderForm();
        this.#renderMine();
        /** @type {HTMLElement | null} */ (this.#card.querySelector(".pick-zone .btn"))?.focus();
      },
    });
    this.#card.replaceChildren(view.root);
    this.#renderMine();
    view.heading.focus();
  }

  /**
   * @param {string} id
   * @param {string} manageToken
   * @param {HTMLButtonElement} button
   */
  async #delete(id, manageToken, button) {
    if (!confirm("Delete this share? The link stops working and its files are deleted from the server.")) return;
    button.disabled = true;
    button.classList.add("busy");
    this.#alert.textContent = "";
    try {
      await deleteShare(id, manageToken);
    } catch (err) {
      // Already gone (deleted elsewhere, or expired): forgetting it is what was asked.
      if (errorStatus(err) !== 404) {
        button.disabled = false;
        button.classList.remove("busy");
        const target = this.#share?.id === id ? this.#alert : this.#mine.querySelector(".form-error");
        if (target) target.textContent = errorMessage(err);
        return;
      }
    }
    forgetShare(id);
    if (this.#share?.id === id) {
      this.#share = null;
      this.#queue = null;
      this.#rows = [];
      this.#chosen = [];
      this.#renderForm();
      this.#alert.textContent = "";
      this.#card.prepend(
        h("p", { class: "notice ok", role: "status", text: "The share was deleted. Its link no longer works." }),
      );
      /** @type {HTMLElement | null} */ (this.#card.querySelector(".pick-zone .btn"))?.focus();
    }
    this.#renderMine();
  }

  // -- shares made in this browser ------------------------------------------------------------

  #renderMine() {
    const list = savedShares().filter((s) => s.id !== this.#share?.id && s.expires_at > Date.now() / 1000);
    this.#mine.hidden = list.length === 0;
    if (!list.length) {
      this.#mine.replaceChildren();
      return;
    }
    const items = list.map((saved) =>
      mineRow(saved, {
        resumable: !saved.complete && !this.#uploading,
        onDelete: (button) => void this.#delete(saved.id, saved.manage_token, button),
        onResume: (files) => void this.#resume(saved.id, files),
      }),
    );
    this.#mine.replaceChildren(
      h("h2", { id: "mine-title", class: "card-title small-title", text: "Your shares on this device" }),
      h("ul", { class: "mine-list" }, items),
      h("p", { class: "form-error", role: "alert" }),
    );
  }

  /**
   * Go on with a share whose upload stopped (a reload, a closed tab): the person picks
   * the files again, and each one continues from where the server has it.
   * @param {string} id
   * @param {File[]} files
   */
  async #resume(id, files) {
    const saved = savedShares().find((s) => s.id === id);
    const note = this.#mine.querySelector(".form-error");
    if (!saved || this.#uploading) return;
    const resumed = resumeShare(saved, files);
    if (!resumed) {
      const pending = saved.files.filter((f) => !f.done).map((f) => f.name);
      if (note) note.textContent = `Those aren't the files that were left to upload. Pick ${pending.join(", ")}.`;
      return;
    }
    if (note) note.textContent = "";
    const { share, items, missing } = resumed;
    const queue = this.#startQueue(share, items, true);
    this.#renderUploading();
    this.#renderMine();
    await this.#uploadAll(queue, () => queue.run());
    if (missing.length && this.#share?.id === id) {
      this.#alert.textContent = `Not uploaded (not picked again): ${missing.join(", ")}.`;
    }
  }

  #renderExpiries() {
    for (const el of Array.from(this.querySelectorAll("[data-testid=share-expiry]"))) {
      el.textContent = expiryText(Number(/** @type {HTMLElement} */ (el).dataset.expires));
    }
  }
}

customElements.define("pl-share-page", SharePage);
