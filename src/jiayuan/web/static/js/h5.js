// The resident's H5 pages: the e-pass that renews itself, 一键报警, following a case, sharing a
// visitor pass, and plain words for every failure (network loss included), in the page's language.
(function () {
  "use strict";

  const OFFLINE = t("网络连接中断，请检查网络后重试。");
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const $ = (selector) => document.querySelector(selector);

  // A fetch whose failures come back as sentences a resident reads: {ok, data} or {ok: false, message, status}.
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
    if (response.status === 401) return { ok: false, status: 401, message: t("登录已过期，请重新登录。") };
    const detail = data && typeof data.detail === "string" ? data.detail : "";
    return { ok: false, status: response.status, message: detail || t("服务器暂时无法处理，请稍后再试。") };
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


  // ------------------------------------------------------------------ photos and voice notes
  // Each file is uploaded when chosen (photos re-encoded by the server); the form sends the ids.
  function requestId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return `r${Date.now()}${Math.random().toString(36).slice(2)}`;
  }
  document.querySelectorAll("[data-attach]").forEach((box) => {
    const list = box.querySelector("[data-attach-list]");
    const status = box.querySelector("[data-attach-status]");
    const hidden = box.closest("form") ? box.closest("form").querySelector("[data-attach-ids]") : null;
    box.attachmentIds = [];
    box.uploading = 0;
    const sync = () => { if (hidden) hidden.value = box.attachmentIds.join(","); };
    async function upload(blob, name, label) {
      if (box.attachmentIds.length >= 6) {
        status.textContent = t("最多添加 6 个照片或语音。");
        return;
      }
      const form = new FormData();
      form.append("file", blob, name);
      box.uploading += 1;
      status.textContent = t("正在上传{what}…", { what: label });
      const result = await call(box.dataset.uploadUrl, { method: "POST", headers: { "X-CSRF-Token": csrf() }, body: form });
      box.uploading -= 1;
      if (!result.ok) {
        status.textContent = result.status === 0
          ? t("网络连接中断，{what}没有上传，请重新添加。", { what: label })
          : t("{what}没有上传：{reason}", { what: label, reason: result.message });
        status.classList.add("error");
        return;
      }
      status.classList.remove("error");
      status.textContent = "";
      box.attachmentIds.push(result.data.id);
      sync();
      const li = document.createElement("li");
      li.textContent = t("已添加{what}（{kb} KB）", { what: t(result.data.kind_label), kb: Math.max(1, Math.round(result.data.size / 1024)) });
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "secondary outline small";
      remove.textContent = t("移除");
      remove.addEventListener("click", () => {
        box.attachmentIds = box.attachmentIds.filter((id) => id !== result.data.id);
        sync();
        li.remove();
      });
      li.append(" ", remove);
      list.append(li);
    }
    box.querySelectorAll("input[data-attach-input]").forEach((input) => {
      input.addEventListener("change", () => {
        Array.from(input.files || []).forEach((file) => {
          upload(file, file.name, file.type.startsWith("audio") ? t("语音") : t("照片"));
        });
        input.value = "";
      });
    });
    // A voice note recorded in the page where the browser allows the microphone (HTTPS or this machine).
    const record = box.querySelector("[data-record]");
    if (record && navigator.mediaDevices && window.MediaRecorder) {
      record.hidden = false;
      let recorder = null;
      let stopTimer = null;
      record.addEventListener("click", async () => {
        if (recorder) {
          recorder.stop();
          return;
        }
        let stream;
        try {
          stream = await navigator.mediaDevices.getUserMedia({ audio: true });
        } catch (err) {
          status.textContent = t("没有得到麦克风权限，可以改为选择一段录好的语音。");
          return;
        }
        const chunks = [];
        recorder = new MediaRecorder(stream);
        recorder.addEventListener("dataavailable", (e) => chunks.push(e.data));
        recorder.addEventListener("stop", () => {
          clearTimeout(stopTimer);
          stream.getTracks().forEach((t) => t.stop());
          recorder = null;
          record.textContent = t("录一段语音（最长 60 秒）");
          const type = chunks.length ? chunks[0].type || "audio/webm" : "audio/webm";
          upload(new Blob(chunks, { type: type }), "voice.webm", t("语音"));
        });
        recorder.start();
        record.textContent = t("正在录音，点此结束");
        stopTimer = setTimeout(() => { if (recorder) recorder.stop(); }, 60000);
      });
    }
  });
  // A form is not sent while its files are still uploading.
  document.querySelectorAll("form [data-attach]").forEach((box) => {
    box.closest("form").addEventListener("submit", (event) => {
      if (box.uploading > 0) {
        event.preventDefault();
        box.querySelector("[data-attach-status]").textContent = t("照片或语音还在上传，请稍候再提交。");
        event.target.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = false; });
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
        status.textContent = t("有效至 {time}，到期前自动更新", { time: clock(result.data.expires_at) });
        status.classList.remove("error");
        timer = setTimeout(refresh, result.data.refresh_in_s * 1000);
        return;
      }
      status.textContent = result.status === 0 ? t("网络连接中断，通行码暂时无法更新，正在重试…") : result.message;
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
    const attachBox = sos.querySelector("[data-attach]");
    const alarmId = requestId();  // one alarm however often this page sends it
    yes.addEventListener("click", async () => {
      if (attachBox && attachBox.uploading > 0) {
        status.textContent = t("照片或语音还在上传，请稍候……");
        return;
      }
      yes.disabled = true;
      status.classList.remove("error");
      status.textContent = t("正在发送报警…");
      const body = await position();
      body.request_id = alarmId;
      body.attachment_ids = attachBox ? attachBox.attachmentIds : [];
      const result = await call(sos.dataset.sosUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
        body: JSON.stringify(body),
      });
      if (result.ok) {
        status.textContent = t("报警已发出，正在打开处理进度…");
        window.location.assign(result.data.url);
        return;
      }
      yes.disabled = false;
      status.classList.add("error");
      status.textContent = result.status === 0
        ? t("网络连接中断，报警没有发出。请检查网络后再按一次，紧急时请直接拨打 110。")
        : t("报警没有发出：{reason}", { reason: result.message });
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
        live.textContent = result.status === 0 ? t("网络连接中断，恢复后自动更新进度…") : result.message;
        live.classList.add("error");
        if (result.status !== 401 && result.status !== 404) setTimeout(poll, 5000);
        return;
      }
      const c = result.data;
      live.classList.remove("error");
      $("#case-headline").textContent = c.headline;
      $("#case-state").textContent = c.state_label;
      $("#case-helper").textContent = c.helper ? t("处理人：{name}", { name: c.helper }) : "";
      const steps = $("#case-steps");
      steps.replaceChildren(...c.steps.map((s) => {
        const li = document.createElement("li");
        const when = document.createElement("span");
        when.className = "small";
        when.textContent = day(s.at);
        li.append(when, ` ${s.text}`);
        (s.attachments || []).forEach((a) => {
          if (a.kind === "photo") {
            const link = document.createElement("a");
            link.href = a.url;
            const img = document.createElement("img");
            img.className = "step-photo";
            img.src = a.url;
            img.alt = a.kind_label;
            link.append(img);
            li.append(" ", link);
          } else {
            const audio = document.createElement("audio");
            audio.controls = true;
            audio.src = a.url;
            audio.setAttribute("aria-label", a.kind_label);
            li.append(" ", audio);
          }
        });
        return li;
      }));
      if (c.closed) {
        window.location.reload();  // the reopen form appears with the closed case
        return;
      }
      live.textContent = t("页面会自动更新进度（{time} 已更新）", { time: new Date().toLocaleTimeString("zh-CN", { hour12: false }) });
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
        status.textContent = t("链接已复制，可以粘贴到微信发给访客。");
      } catch (err) {
        const field = $("#share-link");
        field.select();
        status.textContent = t("请长按上面的链接复制，或保存图片后发给访客。");
      }
    }
    share.addEventListener("click", async () => {
      const url = share.dataset.shareUrl;
      const title = share.dataset.shareTitle;
      if (navigator.share) {
        try {
          const picture = await fetch(share.dataset.sharePng).then((r) => r.blob());
          const file = new File([picture], t("访客通行证") + ".png", { type: "image/png" });
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
