// The resident's H5 pages: the e-pass that renews itself, 一键报警, following a case, sharing a
// visitor pass, and plain Chinese words for every failure (network loss included).
(function () {
  "use strict";

  const OFFLINE = "网络连接中断，请检查网络后重试。";
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const $ = (selector) => document.querySelector(selector);

  // A fetch whose failures come back as Chinese sentences: {ok, data} or {ok: false, message, status}.
  async function call(url, options) {
    let response;
    try {
      response = await fetch(url, Object.assign({ credentials: "same-origin", cache: "no-store" }, options));
    } catch (err) {
      return { ok: false, status: 0, message: OFFLINE };
    }
    let data = null;
    try {
      data = await response.json();
    } catch (err) {
      data = null;
    }
    if (response.ok) return { ok: true, data: data };
    if (response.status === 401) return { ok: false, status: 401, message: "登录已过期，请重新登录。" };
    const detail = data && typeof data.detail === "string" ? data.detail : "";
    return { ok: false, status: response.status, message: detail || "服务器暂时无法处理，请稍后再试。" };
  }

  function showOffline() {
    const banner = $("#h5-offline");
    if (banner) banner.hidden = navigator.onLine;
  }
  window.addEventListener("online", showOffline);
  window.addEventListener("offline", showOffline);
  showOffline();

  // Forms: refused while offline, asked to confirm where they say so, sent once.
  document.querySelectorAll("form[data-offline-guard]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!navigator.onLine) {
        event.preventDefault();
        showOffline();
        return;
      }
      if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
        event.preventDefault();
        return;
      }
      if (form.hasAttribute("data-once")) {
        form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = true; });
      }
    });
  });

  // ------------------------------------------------------------------ my e-pass
  const passCard = $("#pass");
  if (passCard) {
    const img = $("#pass-qr");
    const status = $("#pass-status");
    let timer = null;
    const clock = (iso) => new Date(iso).toLocaleTimeString("zh-CN", { hour12: false, timeZone: "Asia/Shanghai" });
    async function refresh() {
      clearTimeout(timer);
      const result = await call(passCard.dataset.passUrl);
      if (result.ok) {
        img.src = result.data.qr;
        img.hidden = false;
        img.dataset.expiresAt = result.data.expires_at;
        status.textContent = `有效至 ${clock(result.data.expires_at)}，到期前自动更新`;
        status.classList.remove("error");
        timer = setTimeout(refresh, result.data.refresh_in_s * 1000);
        return;
      }
      status.textContent = result.status === 0 ? "网络连接中断，通行码暂时无法更新，正在重试…" : result.message;
      status.classList.add("error");
      if (result.status === 401) {
        img.hidden = true;
        return;
      }
      if (img.dataset.expiresAt && new Date(img.dataset.expiresAt) <= new Date()) img.hidden = true;
      timer = setTimeout(refresh, 5000);
    }
    window.addEventListener("online", refresh);
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) refresh();
    });
    refresh();
  }

  // ------------------------------------------------------------------ 一键报警
  const sos = $("#sos");
  if (sos) {
    const press = $("#sos-press");
    const confirmBox = $("#sos-confirm");
    const status = $("#sos-status");
    const yes = $("#sos-yes");
    press.addEventListener("click", () => {
      press.hidden = true;
      confirmBox.hidden = false;
      yes.focus();
    });
    $("#sos-no").addEventListener("click", () => {
      confirmBox.hidden = true;
      press.hidden = false;
      status.textContent = "";
    });
    const position = () => new Promise((resolve) => {
      if (!$("#sos-geo").checked || !navigator.geolocation) return resolve({});
      navigator.geolocation.getCurrentPosition(
        (p) => resolve({ latitude: p.coords.latitude, longitude: p.coords.longitude, accuracy_m: p.coords.accuracy }),
        () => resolve({}),
        { timeout: 5000, maximumAge: 60000 },
      );
    });
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      status.classList.remove("error");
      status.textContent = "正在发送报警…";
      const body = await position();
      const result = await call(sos.dataset.sosUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
        body: JSON.stringify(body),
      });
      if (result.ok) {
        status.textContent = "报警已发出，正在打开处理进度…";
        window.location.assign(result.data.url);
        return;
      }
      yes.disabled = false;
      status.classList.add("error");
      status.textContent = result.status === 0
        ? "网络连接中断，报警没有发出。请检查网络后再按一次，紧急时请直接拨打 110。"
        : `报警没有发出：${result.message}`;
    });
  }

  // ------------------------------------------------------------------ following a case
  const caseCard = $("#case");
  if (caseCard && caseCard.dataset.closed !== "yes") {
    const live = $("#case-live");
    const day = (iso) => new Date(iso).toLocaleString("zh-CN", {
      hour12: false, timeZone: "Asia/Shanghai", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    }).replace(/\//g, "-");
    async function poll() {
      const result = await call(caseCard.dataset.statusUrl);
      if (!result.ok) {
        live.textContent = result.status === 0 ? "网络连接中断，恢复后自动更新进度…" : result.message;
        live.classList.add("error");
        if (result.status !== 401 && result.status !== 404) setTimeout(poll, 5000);
        return;
      }
      const c = result.data;
      live.classList.remove("error");
      $("#case-headline").textContent = c.headline;
      $("#case-state").textContent = c.state_label;
      $("#case-helper").textContent = c.helper ? `处理人：${c.helper}` : "";
      const steps = $("#case-steps");
      steps.replaceChildren(...c.steps.map((s) => {
        const li = document.createElement("li");
        const when = document.createElement("span");
        when.className = "small";
        when.textContent = day(s.at);
        li.append(when, ` ${s.text}`);
        return li;
      }));
      if (c.closed) {
        window.location.reload();  // the reopen form appears with the closed case
        return;
      }
      live.textContent = `页面会自动更新进度（${new Date().toLocaleTimeString("zh-CN", { hour12: false })} 已更新）`;
      setTimeout(poll, 5000);
    }
    setTimeout(poll, 5000);
  }

  // ------------------------------------------------------------------ sharing a visitor pass
  const share = $("#share");
  if (share) {
    const status = $("#share-status");
    async function copy(text) {
      try {
        await navigator.clipboard.writeText(text);
        status.textContent = "链接已复制，可以粘贴到微信发给访客。";
      } catch (err) {
        const field = $("#share-link");
        field.select();
        status.textContent = "请长按上面的链接复制，或保存图片后发给访客。";
      }
    }
    share.addEventListener("click", async () => {
      const url = share.dataset.shareUrl;
      const title = share.dataset.shareTitle;
      if (navigator.share) {
        try {
          const picture = await fetch(share.dataset.sharePng).then((r) => r.blob());
          const file = new File([picture], "访客通行证.png", { type: "image/png" });
          const data = navigator.canShare && navigator.canShare({ files: [file] })
            ? { title: title, text: title, url: url, files: [file] }
            : { title: title, text: title, url: url };
          await navigator.share(data);
          return;
        } catch (err) {
          if (err && err.name === "AbortError") return;
        }
      }
      copy(url);
    });
    $("#copy-link").addEventListener("click", () => copy(share.dataset.shareUrl));
  }
})();
