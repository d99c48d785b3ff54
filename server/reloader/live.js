// django-runserver: reloads this page when the server it came from was
// replaced, after a template change, or for a static file; swaps
// stylesheets in place for a CSS change; makes the frames of a traceback
// (Django's debug page, the backend's error page) open in the editor.
// Served by page.py and the backend's error page.
//
// The reload keeps the page: what was typed into its form fields and its
// scroll position are saved in sessionStorage under the page's URL just
// before, and put back when the same URL loads within KEPT_MS (then the
// saved state is deleted, so the user's own reloads start afresh); a page
// in between, the error page, hands it on to the next. A tab in the
// background reloads once, when it is next shown. Without
// sessionStorage (private mode, a full quota) the reload is a plain one.
(function () {
  "use strict";
  // Declared in Go, in server/contract, which the reloader's TestContract
  // keeps equal to these.
  var EVENTS = "/__django_runserver__/events";
  var RELOAD_EVENT = "reload";
  var CSS_EVENT = "css";
  var OPEN = "/__django_runserver__/open";
  var TOKEN_HEADER = "X-Django-Runserver-Token";
  // The saved state's key (the page's path and query follow) and how long
  // it waits for the page to load again: a reload follows its save at once.
  var KEPT = "django-runserver:kept:";
  var KEPT_MS = 10000;
  var me = document.currentScript;
  if (!me || window.__djangoRunserver) return;
  window.__djangoRunserver = true;
  whenParsed(linkFrames);
  var page = me.getAttribute("data-page") || "";
  var url = EVENTS + "?page=" + encodeURIComponent(page);
  var reloading = false;
  var touched = []; // the fields the user changed, in this page's life
  var carried = null; // the state a page in between hands on, see restore
  var restoration = null; // the page's own history.scrollRestoration, see restore

  function reload() {
    if (reloading) return; // once, whatever else arrives
    reloading = true;
    whenShown(function () {
      if (keep()) {
        restoration = null; // the next page gives it back
        history.scrollRestoration = "manual"; // ours, see restore
      }
      location.reload();
    });
  }

  // whenShown runs fn now, or, in a tab in the background, when the tab is
  // next shown: a hidden page reloads once, not at every save.
  function whenShown(fn) {
    if (!document.hidden) return fn();
    document.addEventListener("visibilitychange", function shown() {
      if (document.hidden) return;
      document.removeEventListener("visibilitychange", shown);
      fn();
    });
  }

  function touch(event) {
    if (touched.indexOf(event.target) < 0) touched.push(event.target);
  }

  // fields lists the page's form fields a reload would reset, each with an
  // id that finds it again in the reloaded page: its form's index, its
  // name (or id), and its place among the fields so named in that form.
  // Passwords, files and hidden inputs are left alone.
  function fields() {
    var all = document.querySelectorAll("input, textarea, select");
    var named = {};
    var found = [];
    for (var i = 0; i < all.length; i++) {
      var el = all[i];
      if (/^(password|file|hidden|submit|button|reset|image)$/.test(el.type)) continue;
      var name = Array.prototype.indexOf.call(document.forms, el.form) + " " + (el.name || el.id);
      named[name] = (named[name] || 0) + 1;
      found.push({ id: name + " " + (named[name] - 1), el: el });
    }
    return found;
  }

  function isCheck(el) {
    return el.type === "checkbox" || el.type === "radio";
  }

  // read is what el holds: its checked state, chosen options, or value.
  function read(el) {
    if (isCheck(el)) return { checked: el.checked };
    if (!el.options) return { value: el.value };
    var chosen = [];
    for (var i = 0; i < el.options.length; i++) {
      if (el.options[i].selected) chosen.push(el.options[i].value);
    }
    return { options: chosen };
  }

  // write puts saved into el, if el is still a field of the same kind.
  function write(el, saved) {
    if ("checked" in saved && isCheck(el)) {
      el.checked = saved.checked;
    } else if ("options" in saved && el.options) {
      for (var i = 0; i < el.options.length; i++) {
        el.options[i].selected = saved.options.indexOf(el.options[i].value) >= 0;
      }
    } else if ("value" in saved && !isCheck(el) && !el.options) {
      el.value = saved.value;
    } else {
      return false;
    }
    return true;
  }

  function storage() {
    try {
      return window.sessionStorage || null; // reading it can throw
    } catch (e) {
      return null;
    }
  }

  function keptKey() {
    return KEPT + location.pathname + location.search;
  }

  // keep saves the page's state for the reload that follows, and says
  // whether it could.
  function keep() {
    var store = storage();
    if (!store || !("scrollRestoration" in history)) return false;
    var state = carried || current();
    state.at = Date.now();
    try {
      store.setItem(keptKey(), JSON.stringify(state));
      return true;
    } catch (e) {
      return false; // a full quota
    }
  }

  // current is the page's state: its scroll, the fields the user changed.
  function current() {
    var state = {
      x: window.pageXOffset,
      y: window.pageYOffset,
      restoration: restoration || history.scrollRestoration,
      fields: {}
    };
    var all = fields();
    for (var i = 0; i < all.length; i++) {
      if (touched.indexOf(all[i].el) >= 0) state.fields[all[i].id] = read(all[i].el);
    }
    return state;
  }

  // takeKept removes and returns the state our reload saved for this URL.
  function takeKept() {
    var store = storage();
    if (!store) return null;
    try {
      var text = store.getItem(keptKey());
      store.removeItem(keptKey());
      var state = text ? JSON.parse(text) : null;
      return state && typeof state.fields === "object" ? state : null;
    } catch (e) {
      return null;
    }
  }

  // restore puts back what keep saved, if this load is its reload: the
  // fields now, the scroll position now and again once the page has
  // loaded (images and fonts change its height), unless the user scrolled
  // in between. The browser's own scroll restoration stays off until the
  // page goes: Chrome applies it after the load event, with the offset of
  // the page before (after an error page, its top). A page in between,
  // such as the error page of a failed server or Django's debug page, has
  // none of the fields: it hands the state on, however long it is shown,
  // to the reload after it.
  function restore() {
    var state = takeKept();
    if (!state) return;
    var fresh = Date.now() - state.at < KEPT_MS;
    var between = fresh && restoreFields(state.fields) === 0 && Object.keys(state.fields).length > 0;
    if (between) carried = state;
    var scroll = fresh && !between;
    if (scroll) window.scrollTo(state.x, state.y);
    var y = window.pageYOffset;
    if (scroll) {
      window.addEventListener("load", function () {
        if (window.pageYOffset === y) window.scrollTo(state.x, state.y);
      });
    }
    restoration = state.restoration || "auto";
    window.addEventListener("pagehide", function () {
      if (restoration) history.scrollRestoration = restoration;
    });
  }

  // restoreFields writes saved into the fields still there, with the events
  // page scripts listen to, and says how many it wrote.
  function restoreFields(saved) {
    var all = fields();
    var written = 0;
    for (var i = 0; i < all.length; i++) {
      var id = all[i].id;
      if (!Object.prototype.hasOwnProperty.call(saved, id) || !write(all[i].el, saved[id])) continue;
      written++;
      // These also mark the field touched, for the next reload.
      all[i].el.dispatchEvent(new Event("input", { bubbles: true }));
      all[i].el.dispatchEvent(new Event("change", { bubbles: true }));
    }
    return written;
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
  // Capture: page scripts may stop these from bubbling.
  document.addEventListener("input", touch, true);
  document.addEventListener("change", touch, true);
  connect();
  restore();
})();
