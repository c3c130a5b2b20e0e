// The office big screen: renders the state the server sent, follows the live stream, and reloads the
// whole state after every reconnect and every few minutes, so it runs for days without a page reload
// and shows after a network loss exactly what a fresh page would.
(function () {
  "use strict";

  // The whole state is reloaded every 5 minutes; `/screen?reload_s=60` changes that (10 s to 1 hour).
  const asked = Number(new URLSearchParams(window.location.search).get("reload_s"));
  const RELOAD_EVERY_MS = (asked >= 10 && asked <= 3600 ? asked : 300) * 1000;
  const CASES_SETTLE_MS = 1500; // case changes come in bursts (an alarm opens its case at once)
  const CAMERA_REFRESH_MS = 2000;
  const CAMERA_ROTATE_MS = 20000;
  const TILES = 4;
  const ALARMS_SHOWN = 12;
  const FINAL = { 4401: t("登录已失效，请刷新页面重新登录"), 4403: t("该账号无权查看大屏") };
  const SERIES = [
    { key: "people_in", name: t("人员进"), color: "#4cc3ff" },
    { key: "people_out", name: t("人员出"), color: "#ffb547" },
    { key: "outside_in", name: t("外来车进"), color: "#52c41a", dashed: true },
    { key: "outside_out", name: t("外来车出"), color: "#d3adf7", dashed: true },
  ];

  let state = JSON.parse(document.getElementById("s-data").textContent);
  let marks = new Map(); // "gate/bucket" -> { upTo, since: Set } : live counts already in `state`
  let chart = null;
  let socket = null;
  let attempts = 0;
  let stopped = false;
  let casesTimer = null;
  let audio = null;
  let cameraOffset = 0;

  const $ = (id) => document.getElementById(id);

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    return node;
  }

  function clockText(iso) {
    const d = new Date(iso);
    return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
  }

  function setConnection(name, text) {
    const conn = $("s-conn");
    conn.dataset.state = name;
    conn.textContent = text;
  }

  // ---- rendering the whole state ------------------------------------------------------------------

  function render() {
    $("s-community").textContent = state.community;
    marks = new Map();
    for (const gate of state.gates) {
      for (const [bucket, revision] of Object.entries(gate.marks)) {
        marks.set(`${gate.id}/${Date.parse(bucket)}`, { upTo: revision, since: new Set() });
      }
    }
    renderPlan();
    renderGates();
    renderChart();
    renderAlarms();
    renderCases();
    renderDuty();
    renderCameras();
  }

  function renderPlan() {
    const plan = $("s-plan");
    const columns = state.plan.length > 4 ? 3 : 2;
    const rows = Math.max(1, Math.ceil(state.plan.length / columns));
    const width = 600;
    const height = 520;
    const cellW = width / columns;
    const cellH = height / rows;
    plan.setAttribute("viewBox", `0 0 ${width} ${height}`);
    const alarmed = new Set(state.alarms.map((a) => a.gate_id));
    const gates = new Map(state.gates.map((g) => [g.id, g]));
    const nodes = state.plan.map((compound, n) => {
      const x = (n % columns) * cellW + 8;
      const y = Math.floor(n / columns) * cellH + 8;
      const w = cellW - 16;
      const h = cellH - 16;
      const group = svg("g", { class: "compound", "data-compound": compound.id });
      group.append(svg("rect", { class: "outline", x, y, width: w, height: h, rx: 8 }));
      const name = svg("text", { class: "name", x: x + 10, y: y + 20 });
      name.textContent = compound.name;
      group.append(name);
      const perRow = Math.max(1, Math.floor((w - 20) / 26));
      compound.buildings.forEach((building, i) => {
        const box = svg("rect", {
          class: "building", x: x + 10 + (i % perRow) * 26, y: y + 32 + Math.floor(i / perRow) * 26,
          width: 20, height: 20, rx: 2,
        });
        const title = svg("title");
        title.textContent = building.name;
        box.append(title);
        group.append(box);
      });
      compound.gates.forEach((gate, i) => {
        const gx = x + 14 + i * Math.max(80, (w - 20) / Math.max(1, compound.gates.length));
        const gy = y + h - 14;
        const mark = svg("g", { class: alarmed.has(gate.id) ? "gate alarmed" : "gate", "data-gate": gate.id });
        mark.append(svg("circle", { cx: gx, cy: gy, r: 6 }));
        const label = svg("text", { x: gx + 10, y: gy + 4, "data-gate-label": gate.id });
        label.textContent = gateLabel(gate.name, gates.get(gate.id));
        mark.append(label);
        group.append(mark);
      });
      return group;
    });
    plan.replaceChildren(...nodes);
  }

  function gateLabel(name, gate) {
    return gate ? t("{gate} 进{in} 出{out}", { gate: name, in: gate.today.people_in, out: gate.today.people_out }) : name;
  }

  function renderGates() {
    const rows = state.gates.map((gate) => {
      const row = el("tr");
      row.dataset.gate = gate.id;
      row.append(
        el("td", `${gate.compound_name} · ${gate.name}`),
        el("td", gate.today.people_in, "in"),
        el("td", gate.today.people_out, "out"),
        el("td", `${gate.today.camera_in} / ${gate.today.camera_out}`),
        el("td", `${gate.today.outside_in} / ${gate.today.outside_out}`),
        el("td", gate.outside_present),
        el("td", gate.today.refused),
      );
      return row;
    });
    $("s-gates").replaceChildren(...rows);
    for (const gate of state.gates) {
      const label = document.querySelector(`[data-gate-label="${gate.id}"]`);
      if (label) label.textContent = gateLabel(gate.name, gate);
    }
  }

  let chartPending = false;

  function renderChart() {
    if (!window.echarts) return;
    if (!chart) {
      chart = window.echarts.init($("s-chart"), null, { renderer: "canvas" });
      window.addEventListener("resize", () => chart.resize());
    }
    if (chartPending) return;
    chartPending = true;
    requestAnimationFrame(() => {
      chartPending = false;
      chart.setOption({
        animation: false,
        textStyle: { color: "#8fa7c4" },
        legend: { top: 0, textStyle: { color: "#e6eef8" } },
        grid: { left: 40, right: 16, top: 30, bottom: 24 },
        xAxis: { type: "category", data: state.chart.hours },
        yAxis: { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#24456e" } } },
        series: SERIES.map((s) => ({
          id: s.key, name: s.name, type: "line", smooth: true, showSymbol: false,
          data: state.chart.series[s.key], color: s.color,
          lineStyle: { type: s.dashed ? "dashed" : "solid" },
        })),
      });
    });
  }

  function renderAlarms() {
    const items = state.alarms.slice(0, ALARMS_SHOWN).map((alarm) => alarmItem(alarm, false));
    $("s-alarms").replaceChildren(...items);
    $("s-alarm-count").textContent = String(state.alarms.length);
    $("s-alarms-empty").hidden = state.alarms.length > 0;
  }

  function alarmItem(alarm, fresh) {
    const item = el("li", null, fresh ? "fresh" : "");
    item.dataset.alarm = alarm.id;
    item.append(el("time", clockText(alarm.raised_at)), el("strong", alarm.label), el("span", ` ${alarm.summary}`));
    return item;
  }

  function renderCases() {
    const counts = Object.entries(state.case_counts).map(([label, n]) => {
      const item = el("li", label);
      item.prepend(el("strong", n));
      return item;
    });
    $("s-case-counts").replaceChildren(...counts);
    const items = state.open_cases.map((c) => {
      const item = el("li", null, c.overdue ? "overdue" : "");
      item.dataset.case = c.id;
      item.append(
        el("time", clockText(c.reported_at)),
        el("span", t("{category}：{title}", { category: c.category_label, title: c.title })),
        el("span", c.state_label + (c.level > 0 ? " · " + t("已升级 {level} 级", { level: c.level }) : "") + (c.overdue ? " · " + t("超时") : ""), "state"),
      );
      return item;
    });
    $("s-cases").replaceChildren(...items);
    $("s-cases-empty").hidden = state.open_cases.length > 0;
  }

  function renderDuty() {
    const items = state.duty.map((post) => {
      const item = el("li", null);
      item.append(el("strong", post.place), el("span", post.people.join(t("、"))));
      return item;
    });
    $("s-duty").replaceChildren(...items);
    $("s-duty-empty").hidden = state.duty.length > 0;
  }

  // ---- camera tiles: snapshots, a few at a time ------------------------------------------------------

  const tiles = [];

  function renderCameras() {
    $("s-cameras-empty").hidden = state.cameras.length > 0;
    while (tiles.length < Math.min(TILES, state.cameras.length)) {
      const tile = el("figure", null, "tile no-picture");
      const img = el("img");
      img.alt = t("门岗画面");
      const caption = el("p");
      tile.append(img, caption);
      $("s-cameras").append(tile);
      tiles.push({ tile, img, caption, camera: null, loader: new Image(), busy: false });
    }
    while (tiles.length > state.cameras.length) tiles.pop().tile.remove();
    assignCameras();
  }

  function assignCameras() {
    tiles.forEach((t, i) => {
      const camera = state.cameras[(cameraOffset + i) % state.cameras.length];
      if (t.camera !== camera.id) {
        t.camera = camera.id;
        t.caption.textContent = `${camera.gate_name || ""} · ${camera.name}`;
        t.tile.classList.add("no-picture");
      }
    });
  }

  function refreshCameras() {
    if (document.hidden) return;
    for (const t of tiles) {
      if (t.busy || !t.camera) continue;
      t.busy = true;
      // One loader per tile, reused: a TV that runs for days must not collect Image objects.
      t.loader.onload = () => {
        t.busy = false;
        t.img.src = t.loader.src;
        t.tile.classList.remove("no-picture");
      };
      t.loader.onerror = () => {
        t.busy = false;
        t.tile.classList.add("no-picture");
      };
      t.loader.src = `/api/v1/cameras/${encodeURIComponent(t.camera)}/snapshot.jpg?t=${Date.now()}`;
    }
  }

  function rotateCameras() {
    if (state.cameras.length <= TILES) return;
    cameraOffset = (cameraOffset + TILES) % state.cameras.length;
    assignCameras();
  }

  // ---- live events ------------------------------------------------------------------------------------

  function firstTime(message) {
    const key = `${message.gate_id}/${Date.parse(message.bucket)}`;
    if (!marks.has(key)) marks.set(key, { upTo: 0, since: new Set() });
    const mark = marks.get(key);
    if (message.revision <= mark.upTo || mark.since.has(message.revision)) return false;
    mark.since.add(message.revision);
    return true;
  }

  function applyFlow(message) {
    const at = Date.parse(message.bucket);
    const starts = state.chart.starts.map(Date.parse);
    if (at >= starts[starts.length - 1] + 3600 * 1000 || at >= Date.parse(state.day_start) + 86400 * 1000) {
      reload(); // a new hour (or day) began: the server draws the new window
      return;
    }
    if (!firstTime(message)) return;
    const gate = state.gates.find((g) => g.id === message.gate_id);
    if (gate && at >= Date.parse(state.day_start)) {
      for (const [key, delta] of Object.entries(message.deltas)) {
        if (key in gate.today) gate.today[key] += delta;
      }
      gate.outside_present = Math.max(0, gate.outside_present + (message.deltas.outside_in || 0)
        - (message.deltas.outside_out || 0));
      renderGates();
    }
    const hour = starts.findIndex((start) => at >= start && at < start + 3600 * 1000);
    if (hour >= 0) {
      for (const s of SERIES) {
        if (message.deltas[s.key]) state.chart.series[s.key][hour] += message.deltas[s.key];
      }
      renderChart();
    }
  }

  function raiseAlarm(message) {
    if (state.alarms.some((a) => a.id === message.alarm_id)) return;
    const alarm = {
      id: message.alarm_id, type: message.type, label: labelOf(message.type), summary: message.summary,
      raised_at: message.occurred_at, gate_id: message.gate_id,
    };
    state.alarms.unshift(alarm);
    $("s-alarms").prepend(alarmItem(alarm, true));
    while ($("s-alarms").children.length > ALARMS_SHOWN) $("s-alarms").lastElementChild.remove();
    $("s-alarm-count").textContent = String(state.alarms.length);
    $("s-alarms-empty").hidden = true;
    const mark = document.querySelector(`#s-plan [data-gate="${message.gate_id}"]`);
    if (mark) mark.classList.add("alarmed");
    flash();
    beep();
  }

  function clearAlarm(message) {
    state.alarms = state.alarms.filter((a) => a.id !== message.alarm_id);
    renderAlarms();
    renderPlan();
  }

  function labelOf(type) {
    const known = JSON.parse($("s-data").dataset.alarmLabels || "{}");
    return known[type] || type;
  }

  function flash() {
    const node = $("s-flash");
    node.hidden = false;
    node.style.animation = "none";
    void node.offsetWidth; // restart the animation
    node.style.animation = "";
    setTimeout(() => { node.hidden = true; }, 3000);
  }

  function beep() {
    try {
      audio = audio || new AudioContext();
    } catch (_) {
      return;
    }
    if (audio.state === "suspended") {
      $("s-sound").hidden = false; // the browser wants a touch before it plays sound
      return;
    }
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = 880;
    gain.gain.value = 0.2;
    tone.connect(gain).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.6);
  }

  function casesChanged() {
    clearTimeout(casesTimer);
    casesTimer = setTimeout(reload, CASES_SETTLE_MS);
  }

  function handle(message) {
    if (message.event === "access.flow") applyFlow(message);
    else if (message.event === "access.alarm_raised") raiseAlarm(message);
    else if (message.event === "access.alarm_cleared") clearAlarm(message);
    else if (message.event === "cases.changed") casesChanged();
  }

  // ---- the connection ---------------------------------------------------------------------------------

  async function reload() {
    try {
      const response = await fetch("/api/v1/screen/state", { credentials: "same-origin" });
      if (response.status === 401) {
        stop(4401);
        return;
      }
      if (!response.ok) return; // the next reconnect or the timer tries again
      state = await response.json();
      render();
      $("s-data").dataset.loadedAt = state.as_of;
    } catch (_) {
      // offline: the reconnect loop reloads once the server answers
    }
  }

  function stop(code) {
    stopped = true;
    setConnection("stopped", FINAL[code]);
    if (socket) socket.close();
  }

  function connect() {
    if (stopped) return;
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const current = new WebSocket(`${scheme}://${window.location.host}/ws/v1/screen`);
    socket = current;
    current.onopen = () => {
      attempts = 0;
      setConnection("live", t("实时更新中"));
      reload(); // whatever happened while away
    };
    current.onmessage = (event) => handle(JSON.parse(event.data));
    current.onclose = (event) => {
      if (socket !== current) return;
      if (event.code in FINAL) {
        stop(event.code);
        return;
      }
      attempts += 1;
      const delay = Math.min(30, 2 ** Math.min(attempts - 1, 5));
      setConnection("reconnecting", t("连接中断，{delay} 秒后重连（第 {n} 次）", { delay: delay, n: attempts }));
      setTimeout(connect, delay * 1000);
    };
  }

  function tick() {
    const now = new Date();
    $("s-clock").textContent = now.toLocaleString("zh-CN", { hour12: false });
  }

  $("s-sound").addEventListener("click", () => {
    if (audio) audio.resume();
    $("s-sound").hidden = true;
  });
  window.addEventListener("load", () => {
    render();
    connect();
    tick();
    setInterval(tick, 1000);
    setInterval(refreshCameras, CAMERA_REFRESH_MS);
    setInterval(rotateCameras, CAMERA_ROTATE_MS);
    setInterval(reload, RELOAD_EVERY_MS);
  });
})();
