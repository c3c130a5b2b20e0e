// The grid worker's phone (/m). Renders the state the server put in #m-data, keeps it live over
// /ws/v1/m, and sends case actions through a queue kept in localStorage: an action taken offline
// waits there (listed on screen) and is sent when the network is back, with the request id it was
// given when the button was pressed, so a resend after a lost answer is never taken twice.
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  let state = JSON.parse($("m-data").textContent);
  const QUEUE_KEY = "jiayuan-m-queue:" + state.user_name;
  const VERBS = { accept: t("受理"), arrive: t("到场"), handle: t("处置") };
  const PHOTO_MAX = 1280;
  let flushing = false;
  let retryTimer = null;
  let audio = null;
  let socket = null;
  let retryMs = 1000;
  let fresh = new Set();

  // ---- helpers -------------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "className") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function requestId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function api(method, url, body) {
    const response = await fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    return { status: response.status, ok: response.ok, data: data };
  }

  function reason(result) {
    if (result.status === 401) return t("登录已失效，请重新登录");
    const detail = result.data && result.data.detail;
    return typeof detail === "string" ? detail : t("服务器暂时无法处理（{status}）", { status: result.status });
  }

  // ---- the offline queue --------------------------------------------------------------------
  function queue() {
    try { return JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]"); } catch (e) { return []; }
  }

  function saveQueue(items) {
    localStorage.setItem(QUEUE_KEY, JSON.stringify(items));
    renderQueue();
    renderCases();
  }

  function enqueue(item) {
    const items = queue();
    items.push(item);
    try {
      saveQueue(items);
    } catch (e) {
      // The phone's storage is full (photos are the big part): keep the action, without its photo.
      item.photo = null;
      saveQueue(items);
      notice(t("本机存储已满，照片未能保存；“{verb}”将不带照片发送", { verb: VERBS[item.action] }));
    }
    flush();
  }

  function renderQueue() {
    const items = queue();
    const list = $("m-queue-list");
    list.replaceChildren(...items.map((i) =>
      el("li", { dataset: { request: i.request_id } }, t("{verb}：{title}", { verb: VERBS[i.action], title: i.title }) +
        (i.note ? t("（{note}）", { note: i.note }) : "") + (i.photo || i.attachment_id ? t(" · 附照片") : ""))));
    $("m-queue").hidden = items.length === 0;
  }

  // Send what waits, oldest first; stop at the first network failure and keep the rest. One page at a
  // time (a second open tab waits for the lock, then finds the queue emptied).
  async function flush() {
    if (flushing) return;
    if (!navigator.onLine) { showNet(); return; }
    flushing = true;
    try {
      if (navigator.locks) await navigator.locks.request(QUEUE_KEY, sendAll);
      else await sendAll();
    } finally {
      flushing = false;
    }
  }

  async function sendAll() {
    let items = queue();
    while (items.length) {
      const item = items[0];
      showNet("sending");
      let result;
      try {
        result = await send(item);
      } catch (e) {
        later();
        return;  // offline, or the answer was lost: sent again (same request id) in a while
      }
      if (result.status >= 500 || result.status === 429) { later(); return; }
      if (result.status === 401) {
        // Signed out (the session ended): the action waits for the next sign-in on this phone.
        showNet();
        notice(t("登录已失效，请重新登录；待发送的 {n} 项操作保留在本机，登录后自动发送", { n: items.length }));
        return;
      }
      items = queue().filter((i) => i.request_id !== item.request_id);
      saveQueue(items);
      if (result.ok) {
        upsert(result.data.case);
      } else {
        notice(t("“{verb}”未能完成：{title}。{reason}", { verb: VERBS[item.action], title: item.title, reason: reason(result) }));
        refresh();
      }
    }
    showNet();
  }

  function later() {
    showNet();
    clearTimeout(retryTimer);
    retryTimer = setTimeout(flush, 3000);
  }

  // A data: URL read back into bytes (fetching it would need `connect-src data:` in the policy).
  function blobOf(url) {
    const [head, body] = url.split(",");
    const bytes = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
    return new Blob([bytes], { type: head.slice(5).split(";")[0] });
  }

  // The photo goes first (once: its id is kept in the queue), then the action naming it.
  async function send(item) {
    if (item.photo && !item.attachment_id) {
      const form = new FormData();
      form.append("file", blobOf(item.photo), "photo.jpg");
      const response = await fetch("/api/v1/cases/attachments", {
        method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf, Accept: "application/json" }, body: form,
      });
      let data = null;
      try { data = await response.json(); } catch (e) { data = null; }
      if (response.status >= 500) return { status: response.status, ok: false, data: data };
      const items = queue();
      const kept = items.find((i) => i.request_id === item.request_id);
      if (response.ok) {
        item.attachment_id = data.id;
      } else {
        notice(t("照片未能上传：{reason}；“{verb}”将不带照片发送", { reason: reason({ status: response.status, data: data }), verb: VERBS[item.action] }));
      }
      item.photo = null;
      if (kept) { Object.assign(kept, { photo: null, attachment_id: item.attachment_id || null }); localStorage.setItem(QUEUE_KEY, JSON.stringify(items)); }
    }
    const body = { action: item.action, note: item.note, request_id: item.request_id,
      attachment_ids: item.attachment_id ? [item.attachment_id] : [] };
    return api("POST", "/api/v1/m/cases/" + item.case_id + "/actions", body);
  }

  // ---- network state ------------------------------------------------------------------------
  function showNet(mode) {
    const net = $("m-net");
    const waiting = queue().length;
    if (!navigator.onLine) {
      net.dataset.state = "offline";
      net.textContent = waiting ? t("已离线：操作会保存在本机，网络恢复后自动发送（{n} 项）", { n: waiting }) : t("已离线：操作会保存在本机，网络恢复后自动发送");
    } else if (mode === "sending") {
      net.dataset.state = "sending";
      net.textContent = t("正在发送离线时的操作（{n} 项）…", { n: waiting });
    } else if (socket && socket.readyState === WebSocket.OPEN) {
      net.dataset.state = "online";
      net.textContent = waiting ? t("在线 · 有 {n} 项等待发送", { n: waiting }) : t("在线 · 新事件会即时提醒");
    } else {
      net.dataset.state = "connecting";
      net.textContent = t("正在连接服务器…");
    }
  }

  // ---- cases --------------------------------------------------------------------------------
  function upsert(item) {
    const others = state.cases.filter((c) => c.id !== item.id);
    const keep = item.state !== "closed" && (item.mine || item.actions.length || state.role === "grid");
    state.cases = keep ? [item, ...others].sort((a, b) => Number(b.mine) - Number(a.mine)) : others;
    renderCases();
  }

  function renderCases() {
    const pending = {};
    for (const item of queue()) pending[item.case_id] = item;
    // A live update redraws the list: the button that had the keyboard's focus keeps it.
    const focused = document.activeElement;
    const refocus = $("m-cases").contains(focused) && focused.dataset.verb
      ? `button[data-case="${focused.dataset.case}"][data-verb="${focused.dataset.verb}"]` : null;
    $("m-cases").replaceChildren(...state.cases.map((c) => caseCard(c, pending[c.id])));
    if (refocus) $("m-cases").querySelector(refocus)?.focus();
    $("m-cases-empty").hidden = state.cases.length > 0;
    $("m-case-count").textContent = String(state.cases.length);
  }

  function caseCard(c, waiting) {
    const card = el("li", { className: "card" + (c.mine ? " mine" : "") + (fresh.has(c.id) ? " fresh" : ""),
      dataset: { case: String(c.id) }, id: "case-" + c.id });
    card.append(
      el("h3", null, c.title),
      el("p", { className: "meta" },
        el("span", { className: "tag state" }, c.state_label),
        el("span", { className: "tag" }, c.category_label),
        c.overdue ? el("span", { className: "tag overdue" }, t("已超时")) : null,
        waiting ? el("span", { className: "tag pending" }, t("待发送：{verb}", { verb: VERBS[waiting.action] })) : null,
        c.mine ? el("span", { className: "tag" }, t("派给我")) : null),
      el("p", { className: "meta" }, el("b", null, t("位置") + " "), c.place || t("（未注明）")),
      el("p", { className: "meta" }, c.source_label + " · " + c.reported_at + (c.due_at ? " · " + t("时限 {due}", { due: c.due_at }) : "")),
    );
    if (c.description && c.description !== c.title) card.append(el("p", { className: "meta" }, c.description));
    if (c.snapshot_url) {
      card.append(el("img", { className: "evidence", src: c.snapshot_url, alt: t("告警抓拍：{title}", { title: c.title }), loading: "lazy" }));
    }
    if (c.actions.length) {
      const buttons = el("div", { className: "actions" });
      for (const action of c.actions) {
        buttons.append(el("button", { type: "button", dataset: { verb: action.verb, case: String(c.id) },
          disabled: Boolean(waiting) }, action.label));
      }
      card.append(buttons);
    }
    return card;
  }

  function caseById(id) { return state.cases.find((c) => c.id === id); }

  $("m-cases").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-verb]");
    if (!button) return;
    const found = caseById(Number(button.dataset.case));
    if (!found) return;
    const action = found.actions.find((a) => a.verb === button.dataset.verb);
    if (action.verb === "accept") {
      enqueue({ request_id: requestId(), case_id: found.id, action: "accept", note: "", title: found.title });
    } else {
      openDialog(found, action);
    }
  });

  // ---- the 到场 / 处置 dialog (note and camera photo) ----------------------------------------
  let dialogFor = null;

  function openDialog(found, action) {
    dialogFor = { found: found, action: action };
    $("m-act-title").textContent = action.label;
    $("m-act-case").textContent = found.title + " · " + (found.place || "");
    $("m-act-note-label").textContent = action.note_required ? t("处置情况（必填）") : t("说明（可选）");
    $("m-act-note").value = "";
    $("m-act-note").setAttribute("aria-required", String(action.note_required));
    $("m-act-photo").value = "";
    $("m-act-photo").hidden = $("m-act-photo-label").hidden = !action.photo;
    $("m-act-error").textContent = "";
    $("m-act").showModal();
    $("m-act-note").focus();
  }

  $("m-act-cancel").addEventListener("click", () => $("m-act").close());

  $("m-act-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!dialogFor) return;
    const note = $("m-act-note").value.trim();
    if (dialogFor.action.note_required && note.length < 2) {
      $("m-act-error").textContent = t("请写明处置情况");
      return;
    }
    let photo = null;
    const file = $("m-act-photo").files[0];
    if (file) {
      try {
        photo = await shrink(file);
      } catch (e) {
        $("m-act-error").textContent = t("照片无法读取，请重新拍摄");
        return;
      }
    }
    const { found, action } = dialogFor;
    dialogFor = null;
    $("m-act").close();
    enqueue({ request_id: requestId(), case_id: found.id, action: action.verb, note: note, title: found.title, photo: photo });
  });

  // A phone photo, scaled down to a JPEG small enough to keep in the queue while offline.
  function shrink(file) {
    return new Promise((resolve, reject) => {
      if (!file.type.startsWith("image/")) { reject(new Error("not an image")); return; }
      const url = URL.createObjectURL(file);
      const img = new Image();
      img.onload = () => {
        const scale = Math.min(1, PHOTO_MAX / Math.max(img.width, img.height));
        const canvas = document.createElement("canvas");
        canvas.width = Math.round(img.width * scale);
        canvas.height = Math.round(img.height * scale);
        canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
        URL.revokeObjectURL(url);
        resolve(canvas.toDataURL("image/jpeg", 0.75));
      };
      img.onerror = () => { URL.revokeObjectURL(url); reject(new Error("unreadable")); };
      img.src = url;
    });
  }

  // ---- pushed alarms: banner and sound ------------------------------------------------------
  function unlockAudio() {
    if (!audio) {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return;
      audio = new Context();
    }
    if (audio.state === "suspended") audio.resume();
    $("m-sound").hidden = true;
  }

  document.addEventListener("pointerdown", unlockAudio, { once: true });
  document.addEventListener("keydown", unlockAudio, { once: true });
  $("m-sound").addEventListener("click", unlockAudio);

  function beep() {
    if (!audio || audio.state !== "running") { $("m-sound").hidden = false; return; }
    const start = audio.currentTime;
    for (let i = 0; i < 3; i += 1) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = "square";
      osc.frequency.value = i % 2 ? 660 : 880;
      gain.gain.setValueAtTime(0.2, start + i * 0.3);
      gain.gain.exponentialRampToValueAtTime(0.001, start + i * 0.3 + 0.25);
      osc.connect(gain).connect(audio.destination);
      osc.start(start + i * 0.3);
      osc.stop(start + i * 0.3 + 0.26);
    }
    window.__beeps = (window.__beeps || 0) + 1;
    if (navigator.vibrate) navigator.vibrate([300, 100, 300]);
  }

  let bannerCase = null;

  function alarm(c) {
    if (bannerCase === c.id && !$("m-banner").hidden) return;  // already ringing for it
    bannerCase = c.id;
    fresh.add(c.id);
    $("m-banner-text").textContent = t("新事件：{what}", { what: c.category_label + " · " + c.title + (c.place ? " · " + c.place : "") });
    $("m-banner").hidden = false;
    window.__alarms = (window.__alarms || 0) + 1;
    beep();
  }

  function notice(text) {
    bannerCase = null;
    $("m-banner-text").textContent = text;
    $("m-banner").hidden = false;
  }

  $("m-banner-close").addEventListener("click", () => { $("m-banner").hidden = true; });
  $("m-banner-open").addEventListener("click", () => {
    $("m-banner").hidden = true;
    showTab("cases");
    const card = bannerCase && $("case-" + bannerCase);
    if (card) { card.scrollIntoView({ block: "center" }); card.querySelector("button")?.focus(); }
  });

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/v1/m");
    socket.onopen = () => {
      retryMs = 1000;
      showNet();
      refresh();
      flush();
    };
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.event !== "case") return;
      if (message.alert) alarm(message.case);
      if (pushedMeanwhile) pushedMeanwhile.push(message.case);
      upsert(message.case);
    };
    socket.onclose = (event) => {
      socket = null;
      showNet();
      if (event.code === 4401) { notice(t("登录已失效，请重新登录")); return; }
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 30000);
    };
  }

  // Cases pushed while a reload is under way: the reload may have been read before them.
  let pushedMeanwhile = null;

  async function refresh() {
    if (!navigator.onLine) return;
    pushedMeanwhile = [];
    try {
      const result = await api("GET", "/api/v1/m/state");
      if (!result.ok) return;
      state = result.data;
      for (const item of pushedMeanwhile) state.cases = state.cases.filter((c) => c.id !== item.id);
      for (const item of pushedMeanwhile) upsert(item);
      $("m-at").textContent = state.at;
      renderAll();
    } catch (e) {
      // offline between the check and the request: the page keeps what it shows
    } finally {
      pushedMeanwhile = null;
    }
  }

  // ---- residents ----------------------------------------------------------------------------
  $("m-search").addEventListener("submit", async (event) => {
    event.preventDefault();
    const q = $("m-q").value.trim();
    const total = $("m-res-total");
    if (!navigator.onLine) { total.textContent = t("已离线，恢复网络后才能查找居民"); return; }
    total.textContent = t("正在查找…");
    try {
      const result = await api("GET", "/api/v1/residents?size=30&q=" + encodeURIComponent(q));
      if (!result.ok) { total.textContent = reason(result); return; }
      const page = result.data;
      total.textContent = page.total ? t("找到 {n} 人", { n: page.total + (page.total_exact ? "" : "+") }) +
        (page.total > page.items.length ? t("，显示前 {n} 人，请输入更多字缩小范围", { n: page.items.length }) : "") : t("没有找到");
      $("m-residents").replaceChildren(...page.items.map((r) => el("li", { className: "card" },
        el("h3", null, r.name + " ", el("small", null, r.gender + " " + t("{age}岁", { age: r.age }))),
        el("p", { className: "meta" }, r.address.compound + " " + r.address.building + " " + r.address.unit + " " + r.address.room),
        el("p", { className: "meta" }, t("电话 {phone} · 证件 {id}", { phone: r.phone_masked || t("无"), id: r.id_number_masked })),
        r.tags.length ? el("p", { className: "meta" }, ...r.tags.map((t) => el("span", { className: "tag" }, t))) : null)));
    } catch (e) {
      total.textContent = t("网络中断，请稍后再试");
    }
  });

  // ---- duty ---------------------------------------------------------------------------------
  function renderShifts() {
    $("m-shifts").replaceChildren(...state.shifts.map((s) => {
      const card = el("li", { className: "card" },
        el("h3", null, s.duty_role_label + " · " + s.place_name),
        el("p", { className: "meta" }, s.span + " ", s.now ? el("span", { className: "shift-now" }, t("正在值班")) : null,
          s.signed_in ? " · " + t("已签到") : "", s.signed_out ? " · " + t("已签退") : ""));
      const verb = !s.signed_in ? "sign-in" : !s.signed_out ? "sign-out" : null;
      if (verb) {
        card.append(el("div", { className: "actions" },
          el("button", { type: "button", dataset: { shift: String(s.id), sign: verb } }, verb === "sign-in" ? t("签到") : t("签退"))));
      }
      return card;
    }));
    $("m-shifts-empty").hidden = state.shifts.length > 0;
  }

  $("m-shifts").addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-sign]");
    if (!button) return;
    if (!navigator.onLine) { notice(t("已离线：签到、签退须在线进行")); return; }
    button.disabled = true;
    try {
      const result = await api("POST", "/api/v1/duty/shifts/" + button.dataset.shift + "/" + button.dataset.sign);
      if (!result.ok) notice(reason(result));
    } catch (e) {
      notice(t("网络中断，请稍后再试"));
    }
    refresh();
  });

  // ---- patrol -------------------------------------------------------------------------------
  let roundOf = null;

  function renderSlots() {
    $("m-slots").replaceChildren(...state.slots.map((s) => {
      const card = el("li", { className: "card" },
        el("h3", null, s.plan_name),
        el("p", { className: "meta" }, s.slot_label + " ", el("span", { className: "tag" + (s.state === "missed" ? " overdue" : " state") }, s.state_label),
          s.by_name ? " · " + s.by_name : ""));
      if (s.state === "due" || s.state === "in_progress") {
        card.append(el("div", { className: "actions" },
          el("button", { type: "button", className: "slot-start", dataset: { plan: String(s.plan_id), slot: s.slot } },
            s.state === "due" ? t("开始巡查") : t("继续巡查"))));
      }
      return card;
    }));
    $("m-slots-empty").hidden = state.slots.length > 0;
  }

  $("m-slots").addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-plan]");
    if (!button) return;
    if (!navigator.onLine) { notice(t("已离线：巡查须在线查看画面")); return; }
    const result = await api("POST", "/api/v1/patrol/rounds", { plan_id: Number(button.dataset.plan), slot: button.dataset.slot });
    if (!result.ok) { notice(reason(result)); return; }
    roundOf = result.data;
    const plan = state.plans.find((p) => p.id === roundOf.plan_id);
    $("m-round-title").textContent = plan.name + " · " + button.closest("li").querySelector(".meta").firstChild.textContent;
    $("m-round-cameras").replaceChildren(...plan.cameras.filter((c) => roundOf.to_check.includes(c.device_id)).map((c) =>
      el("fieldset", { dataset: { device: c.device_id } },
        el("legend", null, c.name),
        frame(c),
        el("p", { className: "hint" }, t("看过画面后，不正常的项目请取消勾选")),
        ...c.checklist.map((item) => el("label", null,
          el("input", { type: "checkbox", checked: true, name: "ok", value: item }), " " + item)),
        el("label", null, t("发现的问题（有不正常时必填，将生成事件）"),
          el("input", { type: "text", name: "finding", maxlength: "64" })))));
    $("m-round-error").textContent = "";
    $("m-round").hidden = false;
    $("m-slots").hidden = true;
  });

  // The camera's picture now (a plain message when it has none).
  function frame(camera) {
    const img = el("img", { className: "evidence", alt: t("{camera} 当前画面", { camera: camera.name }),
      src: "/api/v1/cameras/" + encodeURIComponent(camera.device_id) + "/snapshot.jpg?t=" + Date.now() });
    img.addEventListener("error", () => img.replaceWith(el("p", { className: "hint" }, t("暂时没有该摄像机的画面"))));
    return img;
  }

  $("m-round-cancel").addEventListener("click", () => { $("m-round").hidden = true; $("m-slots").hidden = false; });

  $("m-round").addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const set of $("m-round-cameras").querySelectorAll("fieldset")) {
      const answers = {};
      for (const box of set.querySelectorAll("input[name=ok]")) answers[box.value] = box.checked;
      const title = set.querySelector("input[name=finding]").value.trim();
      const body = { device_id: set.dataset.device, answers: answers };
      if (title) body.finding = { title: title };
      const result = await api("POST", "/api/v1/patrol/rounds/" + roundOf.id + "/checks", body);
      if (!result.ok) { $("m-round-error").textContent = t("{camera}：{reason}", { camera: set.querySelector("legend").textContent, reason: reason(result) }); return; }
      set.remove();
    }
    const done = await api("POST", "/api/v1/patrol/rounds/" + roundOf.id + "/finish");
    if (!done.ok) { $("m-round-error").textContent = reason(done); return; }
    $("m-round").hidden = true;
    $("m-slots").hidden = false;
    notice(t("本轮巡查已提交"));
    refresh();
  });

  // ---- tabs ---------------------------------------------------------------------------------
  function showTab(name) {
    for (const section of document.querySelectorAll("main > .tab")) section.hidden = section.id !== name;
    for (const link of document.querySelectorAll(".tabs a")) {
      if (link.dataset.tab === name) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
  }

  window.addEventListener("hashchange", () => showTab(location.hash.slice(1) || "cases"));

  function renderAll() {
    renderCases();
    renderQueue();
    renderShifts();
    renderSlots();
    showNet();
  }

  // Signing out forgets the page kept for offline use (it shows this person's cases); what waits to be
  // sent stays, under this account's name, for its next sign-in here.
  document.querySelector(".m-logout").addEventListener("submit", (event) => {
    if (!window.caches) return;
    event.preventDefault();
    const form = event.target;
    caches.keys().then((names) => Promise.all(names.map((n) => caches.delete(n)))).finally(() => form.submit());
  });

  // ---- start --------------------------------------------------------------------------------
  window.addEventListener("online", () => { showNet(); flush(); refresh(); });
  window.addEventListener("offline", () => showNet());
  showTab(["cases", "residents", "duty", "patrol"].includes(location.hash.slice(1)) ? location.hash.slice(1) : "cases");
  renderAll();
  connect();
  flush();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/m/sw.js", { scope: "/m" }).then(
      () => { document.body.dataset.worker = "registered"; },
      () => { document.body.dataset.worker = "failed"; });
    // The worker has no words of its own: it answers with this page's, in the page's language.
    navigator.serviceWorker.ready.then((registration) => {
      if (registration.active) {
        registration.active.postMessage({ offline: t("离线，且本机没有保存过此页面，请联网后再打开。") });
      }
    });
  }
})();
