// <pl-diagnostics-page> (/diagnostics): which connections this network allows, in plain
// words, with a report to copy for whoever helps. The checks run in the browser
// (diagnostics.js); the verdict, NAT estimates, advice and report text come from the
// server (POST /api/diagnostics/verdict), the same words `peerlane doctor` prints.

import { request } from "../api.js";
import { runDiagnostics } from "../diagnostics.js";
import { errorMessage, h } from "./dom.js";

/**
 * @typedef {import("../diagnostics.js").Probe} Probe
 * @typedef {import("../diagnostics.js").Results} Results
 * @typedef {{verdict: string, verdict_text: string, nat: string, nat_mapping: string,
 *   nat_mapping_text: string, advice: string[], report: string[]}} Verdict
 */

export class DiagnosticsPage extends HTMLElement {
  #card = h("section", { class: "card stack diag-card", "aria-labelledby": "diag-title" });
  #running = false;

  connectedCallback() {
    document.title = "Connection check — peerlane";
    this.replaceChildren(h("main", { class: "entry", id: "main" }, [this.#card]));
    void this.#run();
  }

  async #run() {
    if (this.#running) return;
    this.#running = true;
    this.#card.setAttribute("aria-busy", "true");
    this.#card.replaceChildren(
      ...this.#head(),
      h("p", { class: "opening", role: "status", "data-testid": "diag-running" }, [
        h("span", { class: "spinner", "aria-hidden": "true" }),
        "Checking this network… (up to half a minute)",
      ]),
    );
    try {
      /** @type {{probes: Probe[], ice_servers: number}} */
      const offered = await request("GET", "/api/diagnostics");
      const results = await runDiagnostics({
        RTC: globalThis.RTCPeerConnection ?? null,
        secure: globalThis.isSecureContext === true,
        probes: offered.probes,
      });
      /** @type {Verdict} */
      const verdict = await request("POST", "/api/diagnostics/verdict", {
        checks: results.checks,
        ice_servers: offered.ice_servers,
        local: results.local.slice(0, 20),
        reflexive: results.reflexive,
        mapped: results.mapped,
      });
      if (this.isConnected) this.#render(results, verdict);
    } catch (err) {
      if (!this.isConnected) return;
      this.#card.replaceChildren(
        ...this.#head(),
        h("p", { role: "alert", "data-testid": "diag-error", text: errorMessage(err) }),
        this.#buttons(),
      );
    } finally {
      this.#running = false;
      this.#card.removeAttribute("aria-busy");
    }
  }

  #head() {
    return [
      h("h1", { class: "card-title", id: "diag-title", text: "Connection check" }),
      h("p", {
        class: "muted",
        text: "Which connections this network allows: directly between browsers, through a relay (TURN), or only through the server.",
      }),
    ];
  }

  /**
   * @param {Results} results
   * @param {Verdict} verdict
   */
  #render(results, verdict) {
    const report = verdict.report.join("\n");
    const copied = h("span", { class: "muted", role: "status", "data-testid": "diag-copied" });
    this.#card.replaceChildren(
      ...this.#head(),
      h("p", {
        class: `diag-verdict verdict-${verdict.verdict}`,
        "data-testid": "diag-verdict",
        "data-verdict": verdict.verdict,
        text: verdict.verdict_text,
      }),
      h(
        "ul",
        { class: "diag-checks" },
        results.checks.map((check) =>
          h(
            "li",
            {
              class: check.ok ? "diag-check pass" : "diag-check fail",
              "data-testid": "diag-check",
              "data-name": check.name,
              "data-ok": String(check.ok),
            },
            [h("strong", { text: `${check.ok ? "Works" : "Fails"} · ${check.name}` }), `: ${check.detail}`],
          ),
        ),
      ),
      h("p", { "data-testid": "diag-nat", text: `NAT: ${verdict.nat}` }),
      h("p", {
        "data-testid": "diag-mapping",
        "data-mapping": verdict.nat_mapping,
        text: `NAT mapping: ${verdict.nat_mapping_text}`,
      }),
      h("h2", { class: "card-subtitle", text: "What to do" }),
      h(
        "ul",
        { class: "diag-advice", "data-testid": "diag-advice" },
        verdict.advice.map((tip) => h("li", { text: tip })),
      ),
      h("details", { class: "diag-report" }, [
        h("summary", { text: "The report, to send to whoever helps you" }),
        h("pre", { "data-testid": "diag-report", text: report }),
      ]),
      this.#buttons(
        h("button", {
          type: "button",
          class: "btn",
          "data-testid": "diag-copy",
          text: "Copy the report",
          onclick: () => {
            navigator.clipboard.writeText(report).then(
              () => {
                copied.textContent = "Copied.";
              },
              () => {
                copied.textContent = "Could not copy: open the report above and select it.";
              },
            );
          },
        }),
        copied,
      ),
    );
  }

  /** @param {(Node | null)[]} extra */
  #buttons(...extra) {
    return h("p", { class: "btn-row" }, [
      h("button", { type: "button", class: "btn primary", text: "Check again", onclick: () => void this.#run() }),
      ...extra,
      h("a", { href: "/", class: "btn", text: "Home" }),
    ]);
  }
}

customElements.define("pl-diagnostics-page", DiagnosticsPage);
