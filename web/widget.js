/* KA2 chat widget: a launcher button and a chat panel talking to Rasa's socket.io channel.
 * Drop-in: <script src=".../widget.js" data-server-url="https://..." defer></script>
 * Loads widget.css, markdown.js and vendor/socket.io.min.js from its own folder (no CDN).
 * Options (data-* attributes): server-url, socket-path, title, launcher-label, primary-color,
 * primary-text-color, initial-message, initial-payload. See the README.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var base = new URL(".", script.src).href;
  var data = script.dataset;
  var options = {
    // "same-origin": the page's own origin (behind the reverse proxy, which never echoes the Host header).
    serverUrl: data.serverUrl === "same-origin" ? location.origin
      : data.serverUrl || location.protocol + "//" + location.hostname + ":5005",
    socketPath: data.socketPath || "/socket.io",
    title: data.title || "Assistant Erasmus+ KA2",
    launcherLabel: data.launcherLabel || "Une question sur le KA2 ?",
    primaryColor: data.primaryColor || "",
    primaryTextColor: data.primaryTextColor || "",
    initialMessage: data.initialMessage || "",
    initialPayload: data.initialPayload === undefined ? "/greet" : data.initialPayload
  };
  var TEXT = {
    close: "Fermer la discussion",
    restart: "Recommencer",
    restarted: "Nouvelle conversation.",
    log: "Conversation avec l'assistant",
    input: "Votre question",
    placeholder: "Écrivez votre question…",
    send: "Envoyer",
    typing: "L'assistant écrit…",
    offline: "Connexion perdue. Reconnexion en cours…",
    failing: "Connexion au serveur impossible pour l'instant. Nouvel essai en cours…",
    you: "Vous :",
    bot: "Assistant :",
    suggestions: "Suggestions de questions"
  };
  var STORE_KEY = "ka2-chat:" + options.serverUrl;
  var MAX_STORED = 200;

  function loadScript(src, done) {
    var tag = document.createElement("script");
    tag.src = src;
    tag.async = false;
    tag.onload = done;
    tag.onerror = function () { console.warn("KA2 chat: cannot load " + src); };
    document.head.appendChild(tag);
  }

  function loadCss() {
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = base + "widget.css";
    document.head.appendChild(link);
  }

  var SVG_NS = "http://www.w3.org/2000/svg";
  function thumbIcon(direction) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "16");
    svg.setAttribute("height", "16");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "ka2-thumb ka2-thumb-" + direction);
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", "M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.4-1.1L13.2 1 6.6 7.6C6.2 8 6 8.5 6 9v10a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z");
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  function el(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text) node.textContent = text;
    return node;
  }

  function bubbleIcon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("class", "ka2-launcher-icon");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  function newSessionId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // Per tab: the conversation survives a reload but not the closing of the tab (shared computers).
  var storage = {
    load: function () {
      try { return JSON.parse(sessionStorage.getItem(STORE_KEY)) || {}; } catch (e) { return {}; }
    },
    save: function (state) {
      try { sessionStorage.setItem(STORE_KEY, JSON.stringify(state)); } catch (e) { /* private mode */ }
    }
  };

  function Widget() {
    var saved = storage.load();
    this.state = {
      sessionId: saved.sessionId || newSessionId(),
      messages: Array.isArray(saved.messages) ? saved.messages : [],
      open: !!saved.open,
      greeted: !!saved.greeted
    };
    this.socket = null;
    this.ready = false;
    this.restarting = false;
    this.outbox = [];
    this.build();
    this.state.messages.forEach(this.show, this);
    if (this.state.open) this.open(false);
  }

  Widget.prototype.build = function () {
    var root = el("div", { "class": "ka2-chat", lang: "fr" });
    if (options.primaryColor) root.style.setProperty("--ka2-primary", options.primaryColor);
    if (options.primaryTextColor) root.style.setProperty("--ka2-on-primary", options.primaryTextColor);

    this.launcher = el("button", {
      type: "button", "class": "ka2-launcher", "aria-expanded": "false", "aria-controls": "ka2-chat-panel"
    });
    this.launcher.appendChild(bubbleIcon());
    this.launcher.appendChild(el("span", { "class": "ka2-launcher-label" }, options.launcherLabel));

    this.panel = el("section", { id: "ka2-chat-panel", "class": "ka2-panel", "aria-labelledby": "ka2-chat-title" });
    this.panel.hidden = true;
    var header = el("div", { "class": "ka2-header" });
    header.appendChild(el("h2", { id: "ka2-chat-title", "class": "ka2-title" }, options.title));
    this.restartButton = el("button", { type: "button", "class": "ka2-restart" }, TEXT.restart);
    this.closeButton = el("button", { type: "button", "class": "ka2-close", "aria-label": TEXT.close });
    this.closeButton.appendChild(el("span", { "aria-hidden": "true" }, "×"));
    header.appendChild(this.restartButton);
    header.appendChild(this.closeButton);

    this.status = el("p", { "class": "ka2-status", role: "status" });
    this.log = el("div", { "class": "ka2-log", role: "log", "aria-live": "polite", "aria-label": TEXT.log, tabindex: "0" });
    this.typing = el("p", { "class": "ka2-typing" });
    this.typing.appendChild(el("span", { "class": "ka2-dots", "aria-hidden": "true" }, "•••"));
    this.typing.appendChild(document.createTextNode(" " + TEXT.typing));
    this.typing.hidden = true;

    this.form = el("form", { "class": "ka2-form" });
    this.form.appendChild(el("label", { "for": "ka2-chat-input", "class": "ka2-visually-hidden" }, TEXT.input));
    this.input = el("input", {
      id: "ka2-chat-input", type: "text", autocomplete: "off", maxlength: "500", placeholder: TEXT.placeholder
    });
    this.form.appendChild(this.input);
    this.form.appendChild(el("button", { type: "submit", "class": "ka2-send" }, TEXT.send));

    [header, this.status, this.log, this.typing, this.form].forEach(function (part) { this.panel.appendChild(part); }, this);
    root.appendChild(this.panel);
    root.appendChild(this.launcher);
    document.body.appendChild(root);
    this.bind();
  };

  Widget.prototype.bind = function () {
    var self = this;
    this.launcher.addEventListener("click", function () { self.panel.hidden ? self.open(true) : self.close(); });
    this.closeButton.addEventListener("click", function () { self.close(); });
    this.restartButton.addEventListener("click", function () { self.restart(); });
    this.panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { self.close(); }
    });
    this.form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = self.input.value.trim();
      if (!text) return;
      self.input.value = "";
      self.send(text, text);
    });
  };

  Widget.prototype.open = function (focus) {
    this.panel.hidden = false;
    this.launcher.setAttribute("aria-expanded", "true");
    this.state.open = true;
    this.save();
    this.connect();
    this.scrollDown();
    if (focus) this.input.focus();
  };

  Widget.prototype.close = function () {
    this.panel.hidden = true;
    this.launcher.setAttribute("aria-expanded", "false");
    this.state.open = false;
    this.save();
    this.launcher.focus();
  };

  Widget.prototype.save = function () {
    this.state.messages = this.state.messages.slice(-MAX_STORED);
    storage.save(this.state);
  };

  Widget.prototype.connect = function () {
    if (this.socket) return;
    var self = this;
    var connectedOnce = false;
    this.socket = window.io(options.serverUrl, { path: options.socketPath });
    this.socket.on("connect", function () {
      connectedOnce = true;
      self.socket.emit("session_request", { session_id: self.state.sessionId });
    });
    this.socket.on("session_confirm", function (sessionId) {
      var id = typeof sessionId === "string" ? sessionId : (sessionId || {}).session_id;
      if (id && id !== self.state.sessionId) { self.state.sessionId = id; self.save(); }
      self.restarting = false;
      self.ready = true;
      if (self.panel.classList.contains("ka2-offline")) self.setStatus("");
      self.greet();
      self.flush();
    });
    this.socket.on("bot_uttered", function (message) { self.receive(message || {}); });
    this.socket.on("disconnect", function () {
      self.ready = false;
      self.setStatus(TEXT.offline);
    });
    this.socket.on("connect_error", function () {
      self.ready = false;
      self.setStatus(connectedOnce ? TEXT.offline : TEXT.failing);
    });
  };

  Widget.prototype.setStatus = function (text) {
    this.status.textContent = text;
    this.panel.classList.toggle("ka2-offline", !!text);
  };

  Widget.prototype.greet = function () {
    if (this.state.greeted || this.state.messages.length) return;
    this.state.greeted = true;
    if (options.initialMessage) this.add({ from: "bot", text: options.initialMessage });
    if (options.initialPayload) this.send(options.initialPayload, null);
    this.save();
  };

  // A user message: `display` is what the transcript shows (a button's title), null for none.
  Widget.prototype.send = function (payload, display) {
    if (display !== null) {
      if (!this.panel.classList.contains("ka2-offline")) this.setStatus("");
      this.dropQuickReplies();
      this.add({ from: "user", text: display });
    }
    this.outbox.push(payload);
    this.setTyping(true);
    this.flush();
  };

  Widget.prototype.flush = function () {
    // Only after session_confirm: the socket is then in the session's room and gets the replies.
    while (this.ready && this.outbox.length) {
      this.socket.emit("user_uttered", { message: this.outbox.shift(), session_id: this.state.sessionId });
    }
  };

  Widget.prototype.receive = function (message) {
    // Until the new session is confirmed, what arrives answers the conversation the user left.
    if (this.restarting) return;
    var buttons = (message.quick_replies || message.buttons || []).filter(function (b) { return b && b.title; })
      .map(function (b) { return { title: String(b.title), payload: String(b.payload || b.title) }; });
    var text = message.text;
    if (!text && message.attachment && message.attachment.payload) text = message.attachment.payload.src || "";
    if (!text && !buttons.length) return;
    this.setTyping(false);
    this.add({ from: "bot", text: String(text || ""), buttons: buttons });
  };

  Widget.prototype.add = function (message) {
    this.state.messages.push(message);
    this.save();
    this.show(message);
    this.scrollDown();
  };

  Widget.prototype.show = function (message) {
    var self = this;
    var item = el("div", { "class": "ka2-message ka2-from-" + (message.from === "user" ? "user" : "bot") });
    item.appendChild(el("span", { "class": "ka2-visually-hidden" }, message.from === "user" ? TEXT.you : TEXT.bot));
    var bubble = el("div", { "class": "ka2-bubble" });
    if (message.from === "user") bubble.textContent = message.text;
    else bubble.appendChild(window.KA2ChatMarkdown.render(message.text));
    item.appendChild(bubble);
    if (message.buttons && message.buttons.length) {
      var group = el("div", { "class": "ka2-quick-replies", role: "group", "aria-label": TEXT.suggestions });
      message.buttons.forEach(function (button) {
        var node = el("button", { type: "button", "class": "ka2-quick-reply" }, button.title);
        // Ratings get a drawn thumb (no emoji font needed); the button's French text stays its name.
        var rating = /^\/rate_answer\{"rating":"(up|down)"\}$/.exec(String(button.payload || ""));
        if (rating) node.insertBefore(thumbIcon(rating[1]), node.firstChild);
        node.addEventListener("click", function () { self.send(button.payload, button.title); });
        group.appendChild(node);
      });
      item.appendChild(group);
    }
    this.log.appendChild(item);
  };

  // Suggestions belong to the latest answer: remove the old ones once the user speaks again.
  Widget.prototype.dropQuickReplies = function () {
    var hadFocus = this.log.contains(document.activeElement) && document.activeElement.tagName === "BUTTON";
    Array.prototype.forEach.call(this.log.querySelectorAll(".ka2-quick-replies"), function (node) { node.remove(); });
    this.state.messages.forEach(function (m) { delete m.buttons; });
    if (hadFocus) this.input.focus();
  };

  Widget.prototype.setTyping = function (on) {
    var self = this;
    clearTimeout(this.typingTimer);
    this.typing.hidden = !on;
    // Never spin forever if the server does not answer.
    if (on) this.typingTimer = setTimeout(function () { self.typing.hidden = true; }, 30000);
    this.scrollDown();
  };

  Widget.prototype.scrollDown = function () {
    this.log.scrollTop = this.log.scrollHeight;
  };

  Widget.prototype.restart = function () {
    this.state = { sessionId: newSessionId(), messages: [], open: true, greeted: false };
    this.outbox = [];
    this.log.textContent = "";
    this.setTyping(false);
    this.save();
    this.status.textContent = TEXT.restarted;
    this.input.focus();
    if (this.socket && this.socket.connected) {
      this.ready = false;
      this.restarting = true;
      this.socket.emit("session_request", { session_id: this.state.sessionId });
    }
  };

  function start() {
    if (window.KA2Chat) return;
    window.KA2Chat = new Widget();
  }

  loadCss();
  var pending = [];
  if (!window.KA2ChatMarkdown) pending.push(base + "markdown.js");
  if (!window.io) pending.push(base + "vendor/socket.io.min.js");
  var remaining = pending.length;
  function loaded() {
    remaining -= 1;
    if (remaining <= 0) {
      if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
      else start();
    }
  }
  if (!pending.length) { remaining = 1; loaded(); }
  pending.forEach(function (src) { loadScript(src, loaded); });
})();
