// SOPilot console: the one script. Pages work without it; with it, a live page (one whose
// <main> has data-live) follows Server-Sent Events from /events and, when told something
// changed, fetches itself again and swaps its <main> in place. No inline script, no other
// origin (see the Content-Security-Policy).
(function () {
  "use strict";
  var main = document.getElementById("main");
  if (!main || !main.dataset.live || !window.EventSource) {
    return;
  }
  var busy = false;
  var again = false;

  function typing() {
    var a = document.activeElement;
    return a && main.contains(a) && /^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName);
  }

  function refresh() {
    if (busy || typing()) {
      again = true;
      return;
    }
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (!r.ok) { throw new Error("status " + r.status); }
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("main");
        if (fresh) {
          main.innerHTML = fresh.innerHTML;
          document.body.dataset.refreshed = String(Date.now());
        }
      })
      .catch(function () { /* the next event tries again */ })
      .then(function () {
        busy = false;
        if (again) { again = false; setTimeout(refresh, 200); }
      });
  }

  // A refresh put off while someone typed in a form of the page happens when they leave it.
  main.addEventListener("focusout", function () {
    if (again && !busy) { again = false; setTimeout(refresh, 100); }
  });

  var source = new EventSource(main.dataset.live);
  source.addEventListener("change", refresh);
  source.addEventListener("open", function () { document.body.dataset.live = "on"; });
  source.addEventListener("error", function () { document.body.dataset.live = "off"; });
})();
