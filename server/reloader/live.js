// django-runserver: reloads this page when the server it came from was
// replaced, after a template change, or for a static file; swaps
// stylesheets in place for a CSS change. Served by page.py and the
// backend's error page.
(function () {
  "use strict";
  // Declared in Go, in server/contract, which the reloader's TestContract
  // keeps equal to these.
  var EVENTS = "/__django_runserver__/events";
  var RELOAD_EVENT = "reload";
  var CSS_EVENT = "css";
  var me = document.currentScript;
  if (!me || window.__djangoRunserver) return;
  window.__djangoRunserver = true;
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
