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

  function connect() {
    var source = new EventSource(url);
    source.addEventListener(RELOAD_EVENT, function () {
      source.close();
      reload();
    });
    source.addEventListener(CSS_EVENT, swapStylesheets);
    source.onerror = function () {
      // EventSource reconnects by itself after a network error (the
      // server's retry), but gives up for good on an HTTP error.
      if (source.readyState === EventSource.CLOSED && !reloading) {
        setTimeout(connect, 1000);
      }
    };
  }
  connect();
})();
