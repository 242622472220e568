// Warn two minutes before the server signs an idle user out; "Stay signed in" resets the clock
// without leaving the page. The server enforces the limit whatever this script does.
(function () {
  "use strict";
  var body = document.body;
  var idle = parseInt(body.getAttribute("data-idle-seconds"), 10);
  var banner = document.getElementById("timeout-warning");
  var form = document.getElementById("keep-alive-form");
  if (!idle || !banner || !form) { return; }
  var warnAfter = Math.max(idle - 120, 10) * 1000;
  var timer = null;
  function schedule() {
    if (timer) { clearTimeout(timer); }
    banner.hidden = true;
    timer = setTimeout(function () { banner.hidden = false; banner.focus(); }, warnAfter);
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (response) { if (response.ok) { schedule(); } });
  });
  banner.setAttribute("tabindex", "-1");
  schedule();
})();
