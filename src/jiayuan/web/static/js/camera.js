// One camera, live: the server ends each MJPEG response after a while (and at once when the sign-in
// stops being valid), so the page opens a fresh one before that, and retries after a failure.
(function () {
  "use strict";
  var RETRY_MS = 5000;
  var img = document.getElementById("live-view");
  if (!img) { return; }
  var base = img.getAttribute("src");
  var renewMs = Number(img.dataset.renewS || 595) * 1000;

  function reopen() { img.src = base + "?t=" + Date.now(); }

  img.addEventListener("error", function () { window.setTimeout(reopen, RETRY_MS); });
  window.setInterval(function () { if (!document.hidden) { reopen(); } }, renewMs);
})();
