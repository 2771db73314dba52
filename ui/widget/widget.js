/*
 * guichet citizen widget. One tag on any page:
 *
 *   <script src="https://guichet.example/widget.js" data-guichet-url="https://guichet.example" defer></script>
 *
 * defines <guichet-chat> (Shadow DOM: no CSS clash with the host site) and adds one to the page:
 * a bubble button opening a chat panel. Answers are read as Server-Sent Events from
 * POST {url}/api/v1/ask/stream with fetch + ReadableStream; each verified sentence is appended
 * to an ARIA live region. Every text coming from the server (answer, sources, messages) is
 * inserted with textContent, never as HTML; links are built only from web, mailto: and tel:
 * addresses found in verified text. The conversation (questions and finished public answers)
 * lives in sessionStorage under a namespaced key, so it survives a reload and dies with the
 * tab; the last questions go with each new one as `history`. No dependency, no build step.
 */
(function () {
  "use strict";

  // French strings from assistant/messages.py (WIDGET), put in by the server at /widget.js.
  var S = /*GUICHET_STRINGS*/{};
  var script = document.currentScript;

  function t(key, values) {
    var text = S[key] || key;
    Object.keys(values || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(String(values[name]));
    });
    return text;
  }

  function baseUrl() {
    var url = script && script.getAttribute("data-guichet-url");
    if (!url && script && script.src) url = new URL(script.src, location.href).origin;
    return (url || location.origin).replace(/\/+$/, "");
  }

  // Only web links become clickable: never javascript:, data: or file: URLs from a document.
  function safeHref(url) {
    try {
      var parsed = new URL(url);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }

  var MAX_CHARS = Number(S.max_chars) || 500;
  var HISTORY_TURNS = 3;
  var KEPT_TURNS = 12;

  // "2023-06-05" -> "5 juin 2023" (month names from the strings, so no locale data is needed).
  function frenchDate(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso || "");
    var months = S.months || [];
    if (!m || months.length !== 12) return iso || "";
    var day = Number(m[3]);
    return (day === 1 ? "1er" : String(day)) + " " + months[Number(m[2]) - 1] + " " + m[1];
  }

  // Web addresses, e-mails and French phone numbers of a verified text become links; the rest
  // stays text. Trailing punctuation is not part of an address.
  var LINKABLE = /(https?:\/\/[^\s<>"«»]+)|([\w.+-]+@[\w-]+(?:\.[\w-]+)+)|((?:\+33\s?|\b0)[1-9](?:[\s.]?\d{2}){4}\b)/g;
  function linkify(text) {
    var nodes = [];
    var last = 0;
    var match;
    LINKABLE.lastIndex = 0;
    while ((match = LINKABLE.exec(text)) !== null) {
      var raw = match[0];
      var trail = /[.,;:!?)\]]+$/.exec(raw);
      if (trail) raw = raw.slice(0, -trail[0].length);
      var href = match[1] ? safeHref(raw) : match[2] ? "mailto:" + raw : "tel:" + raw.replace(/[\s.]/g, "");
      if (match.index > last) nodes.push(document.createTextNode(text.slice(last, match.index)));
      if (href) {
        var attrs = { class: "link", href: href, text: raw };
        if (match[1]) { attrs.target = "_blank"; attrs.rel = "noopener noreferrer"; }
        nodes.push(h("a", attrs));
      } else {
        nodes.push(document.createTextNode(raw));
      }
      last = match.index + raw.length;
      LINKABLE.lastIndex = last;
    }
    if (last < text.length) nodes.push(document.createTextNode(text.slice(last)));
    return nodes;
  }

  // Build an element; children are nodes or strings (strings become text nodes).
  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") el.textContent = attrs[name];
      else if (name === "class") el.className = attrs[name];
      else if (attrs[name] !== null && attrs[name] !== undefined) el.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) {
      el.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return el;
  }

  var CSS = [
    ":host { all: initial; position: fixed; right: 16px; bottom: 16px; z-index: 2147483000;",
    "  font: 16px/1.5 system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif; color: #1b1b1b; }",
    "*, *::before, *::after { box-sizing: border-box; }",
    "button, textarea { font: inherit; }",
    ":focus-visible { outline: 3px solid #b34700; outline-offset: 2px; }",
    ".bubble { display: flex; align-items: center; gap: 8px; border: 0; border-radius: 999px;",
    "  background: #17406d; color: #fff; padding: 12px 18px; cursor: pointer;",
    "  box-shadow: 0 4px 14px rgba(0,0,0,.3); font-weight: 600; }",
    ".bubble:hover { background: #0f2d4f; }",
    ".bubble svg { width: 22px; height: 22px; fill: currentColor; }",
    ".panel { position: fixed; right: 16px; bottom: 80px; width: min(420px, calc(100vw - 32px));",
    "  height: min(620px, calc(100vh - 104px)); height: min(620px, calc(100dvh - 104px)); display: flex; flex-direction: column; background: #fff;",
    "  border: 1px solid #8a8a8a; border-radius: 12px; box-shadow: 0 8px 30px rgba(0,0,0,.3); overflow: hidden; }",
    ".panel[hidden] { display: none; }",
    ".head { display: flex; align-items: center; justify-content: space-between; gap: 8px;",
    "  background: #17406d; color: #fff; padding: 8px 8px 8px 16px; }",
    ".head h2 { font-size: 1.05rem; margin: 0; }",
    ".close { border: 0; background: transparent; color: #fff; font-size: 1.6rem; line-height: 1;",
    "  width: 44px; height: 44px; border-radius: 8px; cursor: pointer; }",
    ".close:focus-visible { outline-color: #ffd27a; }",
    ".notices { background: #fff4e5; color: #4d3000; font-size: .85rem; padding: 6px 16px;",
    "  border-bottom: 1px solid #e0c9a6; }",
    ".notices p { margin: 2px 0; }",
    ".log { flex: 1; overflow-y: auto; padding: 12px 16px; }",
    ".msg { margin: 0 0 12px; }",
    ".who { font-weight: 700; font-size: .85rem; color: #3d3d3d; margin: 0; }",
    ".user .bodytext { background: #e8eef6; border-radius: 8px; padding: 6px 10px; margin: 2px 0 0;",
    "  white-space: pre-wrap; overflow-wrap: anywhere; }",
    ".bot .bodytext { margin: 2px 0 0; overflow-wrap: anywhere; }",
    ".cite { font-size: .85rem; margin-left: 2px; }",
    "a { color: #0b4f9c; }",
    ".sources { font-size: .85rem; margin: 6px 0 0; padding-left: 20px; }",
    ".sources-title { font-size: .85rem; font-weight: 700; margin: 8px 0 0; }",
    ".context { font-style: italic; }",
    ".preview { border-left: 4px solid #8a6d00; background: #fffbea; padding: 4px 10px; margin: 4px 0; }",
    ".preview-label { font-size: .8rem; font-weight: 700; color: #4d3d00; margin: 0; }",
    ".preview-excerpt { margin: 2px 0; white-space: pre-wrap; overflow-wrap: anywhere; color: #3a3a3a; }",
    ".preview-excerpt mark { background: #ffe27a; color: #1b1b1b; }",
    ".preview-source { font-size: .85rem; margin: 0; }",
    "p.label { font-size: .8rem; margin: 6px 0 0; color: #3a3a3a; }",
    ".meta { color: #4a4a4a; }",
    ".orientation { background: #f3f3f3; border-left: 4px solid #17406d; padding: 6px 10px; }",
    ".error { color: #8f1d1d; background: #fdecec; border-radius: 8px; padding: 6px 10px; }",
    ".status { min-height: 1.5em; font-size: .85rem; color: #3d3d3d; padding: 0 16px; margin: 0; }",
    ".feedback { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; font-size: .85rem; margin-top: 6px; }",
    ".feedback button { border: 1px solid #17406d; background: #fff; color: #17406d; border-radius: 6px;",
    "  padding: 4px 10px; cursor: pointer; min-height: 32px; }",
    "form { border-top: 1px solid #c8c8c8; padding: 8px 16px 12px; }",
    "label { display: block; font-weight: 600; font-size: .9rem; }",
    ".hint { font-size: .8rem; color: #4a4a4a; margin: 0 0 4px; }",
    ".row { display: flex; gap: 8px; align-items: flex-end; }",
    "textarea { flex: 1; min-height: 44px; max-height: 120px; resize: vertical; padding: 8px;",
    "  border: 1px solid #6b6b6b; border-radius: 8px; color: #1b1b1b; background: #fff; }",
    ".send { border: 0; border-radius: 8px; background: #17406d; color: #fff; padding: 10px 14px;",
    "  min-height: 44px; cursor: pointer; font-weight: 600; }",
    ".send[aria-disabled='true'] { background: #5a6b80; cursor: progress; }",
    ".tools { display: flex; gap: 4px; align-items: center; }",
    ".new { border: 1px solid #fff; background: transparent; color: #fff; border-radius: 8px;",
    "  padding: 4px 8px; min-height: 44px; cursor: pointer; font-size: .85rem; }",
    ".new:focus-visible { outline-color: #ffd27a; }",
    ".writing { font-size: .85rem; color: #3d3d3d; font-style: italic; margin: 4px 0 0; }",
    "@media (prefers-reduced-motion: no-preference) { .writing::after { content: ' ●';",
    "  animation: pulse 1s infinite alternate; } @keyframes pulse { from { opacity: .2 } to { opacity: 1 } } }",
    ".stop { border: 1px solid #8f1d1d; background: #fff; color: #8f1d1d; border-radius: 8px;",
    "  padding: 10px 12px; min-height: 44px; cursor: pointer; font-weight: 600; }",
    ".stop[hidden] { display: none; }",
    ".counter { font-size: .8rem; color: #4a4a4a; margin: 4px 0 0; text-align: right; }",
    ".counter.over { color: #8f1d1d; font-weight: 700; }",
    ".form-error { color: #8f1d1d; font-size: .85rem; margin: 4px 0 0; }",
    ".form-error:empty { display: none; }",
    "details.excerpt { margin: 2px 0 4px; }",
    "details.excerpt summary { cursor: pointer; color: #0b4f9c; }",
    "details.excerpt p { margin: 2px 0; color: #3a3a3a; white-space: pre-wrap; }",
    ".pages-title { font-size: .85rem; font-weight: 700; margin: 8px 0 0; }",
    ".pages { font-size: .85rem; margin: 4px 0 0; padding-left: 20px; }",
    ".contact { font-size: .9rem; margin: 6px 0 0; }",
    ".choices { margin-top: 8px; display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }",
    ".choices-title { font-size: .9rem; font-weight: 700; margin: 0; flex-basis: 100%; }",
    ".choice { border: 1px solid #17406d; background: #fff; color: #17406d; border-radius: 6px;",
    "  padding: 6px 10px; min-height: 36px; cursor: pointer; text-align: left; }",
    ".retry { border: 1px solid #17406d; background: #17406d; color: #fff; border-radius: 6px;",
    "  padding: 6px 12px; min-height: 36px; cursor: pointer; margin-top: 6px; display: block; }",
    "@media (max-width: 480px) {",
    "  :host { right: 8px; bottom: 8px; }",
    "  .panel { right: 8px; left: 8px; width: auto; bottom: 72px; height: calc(100vh - 88px);",
    "    height: calc(100dvh - 88px); }",
    "}",
    "@media (prefers-reduced-motion: no-preference) { .panel { transition: opacity .15s; } }",
  ].join("\n");

  var ICON = "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z";

  // Parse "event: x\ndata: {...}" blocks out of a growing text buffer.
  function takeEvents(state) {
    var events = [];
    var text = state.buffer.replace(/\r\n?/g, "\n");
    var end;
    while ((end = text.indexOf("\n\n")) >= 0) {
      var block = text.slice(0, end);
      text = text.slice(end + 2);
      var name = "message";
      var data = [];
      block.split("\n").forEach(function (line) {
        if (!line || line.charAt(0) === ":") return;
        var colon = line.indexOf(":");
        var field = colon < 0 ? line : line.slice(0, colon);
        var value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") name = value;
        else if (field === "data") data.push(value);
      });
      if (data.length) events.push({ name: name, data: data.join("\n") });
    }
    state.buffer = text;
    return events;
  }

  class GuichetChat extends HTMLElement {
    constructor() {
      super();
      this.api = "";
      this.busy = false;
      this.sources = {};
      this.thread = []; // [{question, answer}] answer: the finished public answer
      this.controller = null;
      var root = this.attachShadow({ mode: "open" });
      if (root.adoptedStyleSheets !== undefined && typeof CSSStyleSheet === "function") {
        var sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS); // constructed sheets pass a strict CSP (no inline style)
        root.adoptedStyleSheets = [sheet];
      } else {
        root.appendChild(h("style", { text: CSS }));
      }
      this.build(root);
    }

    connectedCallback() {
      this.api = (this.getAttribute("api") || baseUrl()).replace(/\/+$/, "");
      this.storageKey = "guichet-chat:v1:" + this.api;
      this.restore();
    }

    build(root) {
      var self = this;
      var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
      svg.setAttribute("viewBox", "0 0 24 24");
      svg.setAttribute("aria-hidden", "true");
      svg.setAttribute("focusable", "false");
      var path = document.createElementNS("http://www.w3.org/2000/svg", "path");
      path.setAttribute("d", ICON);
      svg.appendChild(path);

      this.bubble = h("button", {
        type: "button", class: "bubble", "aria-expanded": "false", "aria-controls": "guichet-panel",
        "aria-label": t("bubble") + " " + t("open"),
      }, [svg, h("span", { "aria-hidden": "true", text: t("bubble") })]);

      this.closeButton = h("button", { type: "button", class: "close", "aria-label": t("close"), text: "×" });
      this.newButton = h("button", { type: "button", class: "new", text: t("new_conversation") });
      this.log = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-relevant": "additions text",
        "aria-label": t("title"), tabindex: "0" });
      this.status = h("p", { class: "status", role: "status", "aria-live": "polite" });
      this.input = h("textarea", { id: "guichet-question", name: "question", rows: "2",
        "aria-describedby": "guichet-hint guichet-counter", autocomplete: "off" });
      this.send = h("button", { type: "submit", class: "send", text: t("send") });
      this.stop = h("button", { type: "button", class: "stop", text: t("stop"), hidden: "" });
      this.counter = h("p", { class: "counter", id: "guichet-counter" });
      this.formError = h("p", { class: "form-error", role: "alert" });
      this.form = h("form", { novalidate: "" }, [
        h("label", { for: "guichet-question", text: t("label") }),
        h("p", { class: "hint", id: "guichet-hint", text: t("hint") }),
        h("div", { class: "row" }, [this.input, this.send, this.stop]),
        this.counter,
        this.formError,
      ]);
      this.panel = h("div", {
        class: "panel", id: "guichet-panel", role: "dialog", "aria-modal": "false",
        "aria-labelledby": "guichet-title", hidden: "",
      }, [
        h("div", { class: "head" }, [
          h("h2", { id: "guichet-title", text: t("title") }),
          h("div", { class: "tools" }, [this.newButton, this.closeButton]),
        ]),
        h("div", { class: "notices" }, [h("p", { text: t("privacy") }), h("p", { text: t("disclaimer") })]),
        this.log,
        this.status,
        this.form,
      ]);
      this.welcome();
      this.count();
      root.appendChild(this.panel);
      root.appendChild(this.bubble);

      this.bubble.addEventListener("click", function () { self.toggle(); });
      this.closeButton.addEventListener("click", function () { self.close(); });
      this.newButton.addEventListener("click", function () { self.reset(); });
      this.stop.addEventListener("click", function () { if (self.controller) self.controller.abort(); });
      this.panel.addEventListener("keydown", function (event) {
        if (event.key === "Escape") { event.preventDefault(); self.close(); }
      });
      this.input.addEventListener("input", function () { self.count(); });
      this.input.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          self.submit();
        }
      });
      this.form.addEventListener("submit", function (event) { event.preventDefault(); self.submit(); });
    }

    welcome() {
      this.log.appendChild(this.message("bot", t("assistant"), [h("p", { class: "bodytext", text: t("welcome") })]));
    }

    toggle() { if (this.panel.hidden) this.open(); else this.close(); }

    open() {
      this.panel.hidden = false;
      this.bubble.setAttribute("aria-expanded", "true");
      this.input.focus();
    }

    close() {
      this.panel.hidden = true;
      this.bubble.setAttribute("aria-expanded", "false");
      this.bubble.focus();
    }

    // --- the conversation, kept in this tab's sessionStorage ---------------------------------
    save() {
      try {
        sessionStorage.setItem(this.storageKey, JSON.stringify(this.thread.slice(-KEPT_TURNS)));
      } catch (e) { /* storage disabled or full: the conversation just is not kept */ }
    }

    restore() {
      var kept = [];
      try { kept = JSON.parse(sessionStorage.getItem(this.storageKey) || "[]"); } catch (e) { kept = []; }
      if (!Array.isArray(kept) || this.thread.length) return;
      var self = this;
      kept.forEach(function (entry) {
        if (!entry || typeof entry.question !== "string" || !entry.answer) return;
        self.thread.push(entry);
        self.log.appendChild(self.message("user", t("you"), [h("p", { class: "bodytext", text: entry.question })]));
        var turn = self.newTurn(entry.question);
        turn.entry = entry;  // a restored answer keeps its rating buttons, unless rated
        turn.history = entry.history;
        self.sources = {};
        (entry.answer.sources || []).forEach(function (s) { self.sources[s.id] = s; });
        (entry.answer.sentences || []).forEach(function (s) { self.sentence(turn, s); });
        self.finish(turn, entry.answer, true);
      });
      this.log.scrollTop = this.log.scrollHeight;
    }

    reset() {
      if (this.controller) this.controller.abort();
      this.thread = [];
      try { sessionStorage.removeItem(this.storageKey); } catch (e) { /* nothing kept */ }
      this.log.replaceChildren();
      this.welcome();
      this.status.textContent = t("new_conversation_done");
      this.input.focus();
    }

    history() {
      return this.thread.slice(-HISTORY_TURNS).map(function (entry) { return entry.question; });
    }

    // --- asking ----------------------------------------------------------------------------
    message(kind, who, body) {
      return h("div", { class: "msg " + kind }, [h("p", { class: "who", text: who })].concat(body));
    }

    count() {
      var n = this.input.value.trim().length;
      this.counter.textContent = t("counter", { n: n, max: MAX_CHARS });
      this.counter.classList.toggle("over", n > MAX_CHARS);
    }

    setBusy(busy) {
      this.busy = busy;
      this.send.setAttribute("aria-disabled", busy ? "true" : "false");
      this.stop.hidden = !busy;
    }

    submit() {
      var question = this.input.value.trim();
      if (this.busy || !question) return;
      if (question.length > MAX_CHARS) {
        // The citizen's text stays in the box, to be shortened there.
        this.formError.textContent = t("too_long", { n: question.length, max: MAX_CHARS });
        this.input.focus();
        return;
      }
      this.formError.textContent = "";
      this.input.value = "";
      this.count();
      this.log.appendChild(this.message("user", t("you"), [h("p", { class: "bodytext", text: question })]));
      this.ask(question, this.history());
    }

    newTurn(question) {
      var turn = { text: h("p", { class: "bodytext" }), done: false, question: question };
      turn.node = this.message("bot", t("assistant"), [turn.text]);
      this.log.appendChild(turn.node);
      return turn;
    }

    // A long answer starts at its first line: the view goes to the question, not to the end.
    reveal(turn) {
      var question = turn.node.previousElementSibling || turn.node;
      this.log.scrollTop = Math.max(0, question.offsetTop - this.log.offsetTop - 8);
    }

    // ``choice``: one of a previous answer's choices ({key, title}): the same question, asked
    // on that document alone.
    async ask(question, history, choice) {
      var turn = this.newTurn(question);
      turn.history = history;
      turn.choice = choice || null;
      turn.writing = h("p", { class: "writing", text: t("writing") });
      turn.node.appendChild(turn.writing);
      this.sources = {};
      this.setBusy(true);
      this.status.textContent = t("thinking");
      this.reveal(turn);
      this.controller = typeof AbortController === "function" ? new AbortController() : null;
      try {
        var response = await fetch(this.api + "/api/v1/ask/stream", {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
          body: JSON.stringify(choice
            ? { question: question, history: history, document: choice.key }
            : { question: question, history: history }),
          signal: this.controller ? this.controller.signal : undefined,
        });
        if (!response.ok) {
          var detail = null;
          try { detail = (await response.json()).detail; } catch (e) { /* not JSON */ }
          this.error(turn, typeof detail === "string" ? detail : t("network_error"));
          return;
        }
        var reader = response.body.getReader();
        var decoder = new TextDecoder();
        var state = { buffer: "" };
        for (;;) {
          var chunk = await reader.read();
          if (chunk.done) break;
          state.buffer += decoder.decode(chunk.value, { stream: true });
          var events = takeEvents(state);
          for (var i = 0; i < events.length; i++) this.handle(turn, events[i]);
        }
        if (!turn.done) this.error(turn, t("network_error"));
      } catch (e) {
        if (e && e.name === "AbortError") this.stopped(turn);
        else this.error(turn, t("network_error"));
      } finally {
        this.controller = null;
        if (turn.writing) turn.writing.remove();
        this.setBusy(false);
        this.reveal(turn);
      }
    }

    handle(turn, event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (event.name === "queue") {
        this.status.textContent = t("queue", { position: data.position });
      } else if (event.name === "sources") {
        var self = this;
        (data.sources || []).forEach(function (s) { self.sources[s.id] = s; });
        this.status.textContent = t("writing");
      } else if (event.name === "preview") {
        this.preview(turn, data);
      } else if (event.name === "sentence") {
        this.unpreview(turn);
        this.sentence(turn, data);
      } else if (event.name === "done") {
        this.unpreview(turn);
        this.finish(turn, data, false);
      } else if (event.name === "error") {
        this.error(turn, typeof data.detail === "string" ? data.detail : t("network_error"));
      }
    }

    citation(id) {
      var source = this.sources[id];
      var href = source && source.url ? safeHref(source.url) : null;
      var label = "[" + id + "]";
      if (!href) return h("span", { class: "cite", text: label });
      return h("a", {
        class: "cite", href: href, target: "_blank", rel: "noopener noreferrer",
        title: source.title, "aria-label": "Source " + id + " : " + source.title + " (nouvel onglet)",
        text: label,
      });
    }

    // The exact passage closest to the question, before the verified answer: the sentence
    // highlighted inside its excerpt, its source cited, labelled as an excerpt (the server's
    // own words). The answer's first sentence, or the end of the answer, replaces it.
    preview(turn, data) {
      var sentence = data.sentence || {};
      var source = data.source || {};
      var text = String(sentence.text || "");
      var excerpt = String(source.excerpt || "");
      if (!text) return;
      if (source.id !== undefined && !this.sources[source.id]) this.sources[source.id] = source;
      var at = excerpt.indexOf(text);
      var body = at < 0
        ? [h("mark", { text: text })]
        : [excerpt.slice(0, at), h("mark", { text: text }), excerpt.slice(at + text.length)];
      var href = source.url ? safeHref(source.url) : null;
      var title = href
        ? h("a", { href: href, target: "_blank", rel: "noopener noreferrer", text: source.title || "" })
        : h("span", { text: source.title || "" });
      this.unpreview(turn);
      turn.preview = h("div", { class: "preview", role: "note" }, [
        h("p", { class: "preview-label", text: data.label || "" }),
        h("blockquote", { class: "preview-excerpt" }, body),
        h("p", { class: "preview-source" }, ["— ", title]),
      ]);
      turn.node.insertBefore(turn.preview, turn.writing || null);
    }

    unpreview(turn) {
      if (turn.preview) { turn.preview.remove(); turn.preview = null; }
    }

    sentence(turn, data) {
      var self = this;
      // An exact excerpt comes with the heading it sits under in its document
      // ("Pendant les vacances scolaires"): part of what the document says.
      if (data.context) {
        if (turn.text.childNodes.length) turn.text.appendChild(h("br"));
        turn.text.appendChild(h("span", { class: "context", text: data.context + " : " }));
      }
      var lead = turn.text.childNodes.length && !data.context ? " " : "";
      var span = h("span", { class: "sentence" }, [lead].concat(linkify(String(data.text || ""))));
      turn.text.appendChild(span);
      (data.source_ids || []).forEach(function (id) {
        turn.text.appendChild(document.createTextNode(" "));
        turn.text.appendChild(self.citation(id));
      });
    }

    // Title (linked when public), French date, and the passage itself, folded.
    pageItem(page, value) {
      var href = page.url ? safeHref(page.url) : null;
      var title = href
        ? h("a", { href: href, target: "_blank", rel: "noopener noreferrer", text: page.title })
        : h("span", { text: page.title });
      var meta = [];
      if (!href) meta.push(t("source_no_link"));
      if (page.updated) meta.push(t("updated", { date: frenchDate(page.updated) }));
      if (page.ocr) meta.push(t("source_ocr"));  // a scan read by OCR: its text may hold errors
      var item = h("li", value ? { value: value } : {}, [title]);
      if (meta.length) item.appendChild(h("span", { class: "meta", text: " — " + meta.join(", ") }));
      if (page.excerpt) {
        item.appendChild(h("details", { class: "excerpt" }, [
          h("summary", { text: t("excerpt") }),
          h("p", { text: page.excerpt }),
        ]));
      }
      return item;
    }

    finish(turn, answer, restored) {
      var self = this;
      turn.done = true;
      if (!restored) {
        this.status.textContent = t("done");
        turn.entry = { question: turn.question, answer: answer, history: turn.history || [] };
        this.thread.push(turn.entry);
        this.save();
      }
      (answer.sources || []).forEach(function (s) { self.sources[s.id] = s; });
      if (answer.verdict === "refused" || !(answer.sentences || []).length) {
        turn.text.remove();
        turn.node.appendChild(h("p", { class: "bodytext orientation", text: answer.orientation || answer.text || "" }));
        this.suggestions(turn, answer.suggestions);
      } else if ((answer.sources || []).length) {
        // What the checks established ("extrait exact du document…"), never more.
        if (answer.label) turn.node.appendChild(h("p", { class: "label", text: answer.label }));
        turn.node.appendChild(h("p", { class: "sources-title", text: t("sources") }));
        var list = h("ol", { class: "sources" });
        answer.sources.forEach(function (s) { list.appendChild(self.pageItem(s, String(s.id))); });
        turn.node.appendChild(list);
      }
      this.choices(turn, answer);
      if (answer.id && !(turn.entry && turn.entry.rated)) {
        turn.node.appendChild(this.feedback(answer.id, turn.entry));
      }
    }

    // Close documents: "Votre question porte sur : A / B ?"; a click asks the same question
    // again on the chosen document alone (the thread it was asked in goes with it).
    choices(turn, answer) {
      var self = this;
      var offered = (answer.choices || []).filter(function (c) { return c && typeof c.key === "string"; });
      if (!offered.length || !turn.question) return;
      var box = h("div", { class: "choices", role: "group", "aria-label": answer.choices_label || t("choices") },
        [h("p", { class: "choices-title", text: answer.choices_label || t("choices") })]);
      offered.forEach(function (c) {
        var label = c.section ? c.title + " — " + c.section : c.title;
        var button = h("button", { type: "button", class: "choice", text: label });
        if (c.excerpt) button.setAttribute("title", c.excerpt);
        button.addEventListener("click", function () {
          if (self.busy) return;
          var asked = t("choice_asked", { question: turn.question, title: c.title });
          self.log.appendChild(self.message("user", t("you"), [h("p", { class: "bodytext", text: asked })]));
          self.ask(turn.question, turn.history || [], { key: c.key, title: c.title });
        });
        box.appendChild(button);
      });
      turn.node.appendChild(box);
    }

    // A refusal's closest pages (labelled as such), the service's contact, a retry.
    suggestions(turn, s) {
      if (!s) return;
      var self = this;
      if ((s.pages || []).length) {
        turn.node.appendChild(h("p", { class: "pages-title", text: s.pages_label || "" }));
        var list = h("ul", { class: "pages" });
        s.pages.forEach(function (p) { list.appendChild(self.pageItem(p, null)); });
        turn.node.appendChild(list);
      }
      if (s.contact && s.contact.text) {
        turn.node.appendChild(h("p", { class: "contact" }, [
          h("span", { class: "contact-label", text: (s.contact_label || "") + " " }),
        ].concat(linkify(s.contact.text))));
      }
      if (s.retry && turn.question) turn.node.appendChild(this.retryButton(turn));
    }

    retryButton(turn) {
      var self = this;
      var button = h("button", { type: "button", class: "retry", text: t("retry") });
      button.addEventListener("click", function () {
        if (self.busy) return;
        button.remove();
        self.log.appendChild(self.message("user", t("you"), [h("p", { class: "bodytext", text: turn.question })]));
        self.ask(turn.question, turn.history || self.history());
      });
      return button;
    }

    feedback(answerId, entry) {
      var self = this;
      var box = h("div", { class: "feedback", role: "group", "aria-label": t("feedback_question") },
        [h("span", { text: t("feedback_question") })]);
      [["up", t("feedback_up")], ["down", t("feedback_down")]].forEach(function (pair) {
        var button = h("button", { type: "button", text: pair[1] });
        button.addEventListener("click", function () { self.rate(box, answerId, pair[0], entry); });
        box.appendChild(button);
      });
      return box;
    }

    async rate(box, answerId, rating, entry) {
      var text = t("network_error");
      try {
        var response = await fetch(this.api + "/api/v1/feedback", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ answer_id: answerId, rating: rating }),
        });
        var body = await response.json();
        if (typeof body.detail === "string") text = body.detail;
        if (response.ok && entry) { entry.rated = true; this.save(); }  // not offered again
      } catch (e) { /* keep the network message */ }
      var note = h("span", { role: "status", text: text });
      box.replaceChildren(note);
      this.input.focus();
    }

    stopped(turn) {
      turn.done = true;
      this.status.textContent = t("stopped");
      turn.node.appendChild(h("p", { class: "bodytext meta", text: t("stopped") }));
      if (!this.input.value) this.input.value = turn.question;
      this.count();
    }

    error(turn, text) {
      turn.done = true;
      this.status.textContent = "";
      turn.node.appendChild(h("p", { class: "bodytext error", role: "alert", text: text }));
      // The question is not lost: back in the box, and one click asks it again.
      if (!this.input.value) { this.input.value = turn.question; this.count(); }
      turn.node.appendChild(this.retryButton(turn));
    }
  }

  if (!customElements.get("guichet-chat")) customElements.define("guichet-chat", GuichetChat);

  function mount() {
    if (document.querySelector("guichet-chat")) return;
    var chat = document.createElement("guichet-chat");
    chat.setAttribute("api", baseUrl());
    document.body.appendChild(chat);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
