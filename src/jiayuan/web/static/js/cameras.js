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
})();
