// One camera, live: the server ends each MJPEG response after a while (and at once when the sign-in
// stops being valid), so the page opens a fresh one before that, and retries after a failure.
// A camera that sends no live frames (a plate camera, or the analysis is not running) never leaves the
// page blank: after a few seconds without a frame it shows its newest picture, or says there is none.
(function () {
  "use strict";
  var RETRY_MS = 5000;
  var WAIT_FOR_FRAME_MS = 6000;
  var STILL_EVERY_MS = 3000;
  var img = document.getElementById("live-view");
  var status = document.getElementById("live-status");
  if (!img) { return; }
  var base = img.getAttribute("src");
  var renewMs = Number(img.dataset.renewS || 595) * 1000;
  var live = false;
  var stillUrl = null;

  function reopen() { img.src = base + "?t=" + Date.now(); }

  function say(text) {
    status.textContent = text;
    status.hidden = !text;
  }

  function showStill() {
    if (live) { return; }
    fetch(img.dataset.snapshot + "?t=" + Date.now(), { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          return response.json().then(function (body) { say(body.detail || t("暂无画面")); });
        }
        var taken = response.headers.get("X-Picture-Taken-At");
        if (!taken) { // a live frame: the analysis is back, so is the stream
          live = true;
          say("");
          reopen();
          return undefined;
        }
        return response.blob().then(function (blob) {
          if (live) { return; }
          if (stillUrl) { URL.revokeObjectURL(stillUrl); }
          stillUrl = URL.createObjectURL(blob);
          img.src = stillUrl;
          say(t("暂无实时画面，显示最近一张抓拍（北京时间 {taken}）", { taken: taken }));
        });
      })
      .catch(function () { say(t("网络中断，正在重试…")); })
      .then(function () { if (!live) { window.setTimeout(showStill, STILL_EVERY_MS); } });
  }

  img.addEventListener("load", function () {
    if (img.src.indexOf(base) === 0) {
      live = true;
      say("");
    }
  });
  img.addEventListener("error", function () {
    live = false;
    window.setTimeout(reopen, RETRY_MS);
  });
  window.setTimeout(function () { if (!live) { showStill(); } }, WAIT_FOR_FRAME_MS);
  window.setInterval(function () { if (!document.hidden && live) { reopen(); } }, renewMs);
})();
