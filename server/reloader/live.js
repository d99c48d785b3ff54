// django-runserver: reloads this page when the server it came from was
// replaced, after a template change, or for a static file; swaps
// stylesheets in place for a CSS change. Served under /__django_runserver__/.
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || window.__djangoRunserver) return;
  window.__djangoRunserver = true;
  var page = me.getAttribute("data-page") || "";
  var url = "/__django_runserver__/events?page=" + encodeURIComponent(page);
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
    source.addEventListener("reload", function () {
      source.close();
      reload();
    });
    source.addEventListener("css", swapStylesheets);
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
