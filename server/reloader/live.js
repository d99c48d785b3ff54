// django-runserver: reloads this page when the server it came from was
// replaced, after a template change, or for a static file; swaps
// stylesheets in place for a CSS change; makes the frames of a traceback
// (Django's debug page, the backend's error page) open in the editor.
// Served by page.py and the backend's error page.
(function () {
  "use strict";
  // Declared in Go, in server/contract, which the reloader's TestContract
  // keeps equal to these.
  var EVENTS = "/__django_runserver__/events";
  var RELOAD_EVENT = "reload";
  var CSS_EVENT = "css";
  var OPEN = "/__django_runserver__/open";
  var TOKEN_HEADER = "X-Django-Runserver-Token";
  var me = document.currentScript;
  if (!me || window.__djangoRunserver) return;
  window.__djangoRunserver = true;
  whenParsed(linkFrames);
  var page = me.getAttribute("data-page") || "";
  var url = EVENTS + "?page=" + encodeURIComponent(page);
  var reloading = false;

  function reload() {
    if (reloading) return; // once, whatever else arrives
    reloading = true;
    location.reload();
  }

  function swapStylesheets() {
    var links = document.querySelectorAll('link[rel~="stylesheet"][href]');
    for (var i = 0; i < links.length; i++) {
      var href = new URL(links[i].href, location.href);
      if (href.origin !== location.origin) continue;
      href.searchParams.set("django-runserver", String(Date.now()));
      links[i].href = href.toString();
    }
  }

  // Frames. Django's debug page and the backend's error page both show a
  // frame as <… class="fname">FILE</…>, line N; Django marks its own
  // frames' items "frame django", never in the workspace. A click POSTs to
  // OPEN with the tag's token; the server checks it all, and opens the
  // file in the editor or answers what to copy.
  function whenParsed(f) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", f);
    } else {
      f();
    }
  }

  function linkFrames() {
    var token = me.getAttribute("data-token");
    if (!token) return;
    var names = document.querySelectorAll(".fname");
    for (var i = 0; i < names.length; i++) linkFrame(names[i], token);
  }

  function linkFrame(name, token) {
    var item = name.closest("li.frame");
    if (item && item.classList.contains("django")) return;
    var after = name.nextSibling;
    var m = after && after.nodeType === Node.TEXT_NODE && /^, line (\d+)/.exec(after.nodeValue);
    if (!m) return;
    var file = name.textContent;
    var line = Number(m[1]);
    var link = document.createElement("a");
    link.href = "#";
    link.title = "Open at line " + line;
    link.setAttribute("data-django-runserver-open", "");
    name.parentNode.insertBefore(link, name);
    link.appendChild(name);
    link.addEventListener("click", function (event) {
      event.preventDefault();
      openFrame(file, line, token);
    });
  }

  function openFrame(file, line, token) {
    var headers = { "Content-Type": "application/json" };
    headers[TOKEN_HEADER] = token;
    fetch(OPEN, { method: "POST", headers: headers, credentials: "same-origin",
                  body: JSON.stringify({ file: file, line: line }) })
      .then(function (response) {
        if (!response.ok) {
          return response.text().then(function (why) { throw new Error(why.trim()); });
        }
        return response.json();
      })
      .then(function (reply) {
        if (reply.opened) {
          note("Opened " + file + ", line " + line + " in the editor");
        } else {
          copy(reply.copy);
        }
      })
      .catch(function (err) { note("Not opened. " + err.message); });
  }

  // copy puts "file:line" on the clipboard, where the terminal's user
  // pastes it; where the page may not write it (not a secure context), the
  // note shows it to copy by hand.
  function copy(text) {
    if (!navigator.clipboard) {
      note("Copy: " + text);
      return;
    }
    navigator.clipboard.writeText(text).then(
      function () { note("Copied " + text); },
      function () { note("Copy: " + text); });
  }

  var noteTimer = 0;
  function note(text) {
    var box = document.getElementById("django-runserver-note");
    if (!box) {
      box = document.createElement("div");
      box.id = "django-runserver-note";
      box.setAttribute("role", "status");
      var s = box.style;
      s.position = "fixed";
      s.right = s.bottom = "16px";
      s.zIndex = "2147483647";
      s.maxWidth = "60ch";
      s.padding = "8px 12px";
      s.background = "#222";
      s.color = "#fff";
      s.font = "13px/1.4 system-ui, sans-serif";
      s.borderRadius = "4px";
      s.overflowWrap = "anywhere";
      document.body.appendChild(box);
    }
    box.textContent = text; // text, never markup
    box.hidden = false;
    clearTimeout(noteTimer);
    noteTimer = setTimeout(function () { box.hidden = true; }, 5000);
  }

  // Reconnecting is ours, not EventSource's: its retry waits a fixed time.
  // A stream that was open ends when its process starts to reload, and a
  // connection made at once waits in the kept socket's queue for the next
  // process, which answers the moment it serves. A connection that fails
  // (the server stopped) backs off.
  var BACKOFF_MS = [250, 500, 1000, 2000];
  var failures = 0;

  function connect() {
    var source = new EventSource(url);
    var opened = false;
    source.onopen = function () {
      opened = true;
      failures = 0;
    };
    source.addEventListener(RELOAD_EVENT, function () {
      source.close();
      reload();
    });
    source.addEventListener(CSS_EVENT, swapStylesheets);
    source.onerror = function () {
      source.close();
      if (reloading) return;
      if (opened) {
        connect();
        return;
      }
      setTimeout(connect, BACKOFF_MS[Math.min(failures++, BACKOFF_MS.length - 1)]);
    };
  }
  connect();
})();
