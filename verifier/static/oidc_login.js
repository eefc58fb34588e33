// The OpenID Provider's login page: follows the wallet presentation and continues to the portal when it is decided.
// It only ever sees the status, never a claim.
(function () {
  "use strict";
  var label = document.getElementById("login-status");
  if (!label) { return; }
  var final = { verified: true, refused: true, wallet_error: true, expired: true };
  function poll() {
    fetch("/authorize/status", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        label.textContent = s.status;
        label.setAttribute("data-status", s.status);
        if (final[s.status]) { window.location.assign("/authorize/complete"); } else { setTimeout(poll, 1000); }
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  poll();
}());
