// Follows the presentation's status (server-sent events, falling back to polling) and opens the result when the
// wallet has answered. No claim ever reaches this page before /done.
(function () {
  "use strict";
  var label = document.getElementById("status");
  if (!label) { return; }
  var final = { verified: true, refused: true, wallet_error: true, expired: true };
  function show(status) {
    label.textContent = status;
    label.setAttribute("data-status", status);
    if (final[status]) { window.location.assign("/done"); }
  }
  function poll() {
    fetch("/present/status", { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (s) { show(s.status || "expired"); if (!final[s.status]) { setTimeout(poll, 1000); } })
      .catch(function () { setTimeout(poll, 2000); });
  }
  if (window.EventSource) {
    var events = new EventSource("/present/events");
    events.addEventListener("status", function (e) {
      var s = JSON.parse(e.data); show(s.status); if (final[s.status]) { events.close(); }
    });
    events.onerror = function () { events.close(); poll(); };
  } else {
    poll();
  }
}());
