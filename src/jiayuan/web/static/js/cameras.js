// Camera grid: refresh each camera's snapshot about once a second. One MJPEG stream per camera
// would hold a connection each, and browsers open only six per server; snapshots share them.
(function () {
  "use strict";
  var PERIOD_MS = 1000;

  function refresh(img) {
    var next = new Image();
    next.onload = function () {
      img.src = next.src;
      img.closest("article").classList.remove("no-picture");
      schedule(img);
    };
    next.onerror = function () {
      img.closest("article").classList.add("no-picture");
      schedule(img, PERIOD_MS * 3);
    };
    next.src = img.dataset.snapshot + "?t=" + Date.now();
  }

  function schedule(img, delay) {
    window.setTimeout(function () {
      if (document.hidden) { schedule(img, PERIOD_MS * 2); } else { refresh(img); }
    }, delay || PERIOD_MS);
  }

  document.querySelectorAll("img[data-snapshot]").forEach(refresh);

  // A camera whose worker runs degraded shows a badge and the reasons; they are polled, since the
  // page stays open on the office's wall for hours.
  var HEALTH_MS = 10000;
  var grid = document.querySelector("[data-health]");

  function showHealth(degraded) {
    grid.querySelectorAll("article[data-camera]").forEach(function (article) {
      var reasons = degraded[article.dataset.camera] || [];
      article.querySelector("mark.degraded").hidden = reasons.length === 0;
      var list = article.querySelector(".health-reasons");
      list.replaceChildren.apply(list, reasons.map(function (reason) {
        var item = document.createElement("li");
        var text = document.createElement("span");
        text.lang = "zh-CN";
        text.textContent = reason.text;
        item.append(reason.label + t("："), text);
        return item;
      }));
    });
  }

  function pollHealth() {
    window.setTimeout(function () {
      if (document.hidden) { pollHealth(); return; }
      fetch(grid.dataset.health, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (degraded) { if (degraded) { showHealth(degraded); } })
        .catch(function () { /* offline for a moment: the next poll tries again */ })
        .then(pollHealth);
    }, HEALTH_MS);
  }

  if (grid) { pollHealth(); }
})();
