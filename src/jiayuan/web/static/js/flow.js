// 闸口通行: today's chart, numbers, passages and alarms of one gate or compound, kept live over
// /ws/v1/access. Each (re)connection first reloads the day from /api/v1/flow/today, so nothing sent
// while the socket was down is missed; messages arriving during that reload are replayed after it.

const BUCKET_MS = 5 * 60 * 1000;
const BUCKETS_PER_DAY = 288;
const FEED_MAX = 100;
const RECONNECT_MAX_S = 15;
const VEHICLE_REFRESH_MS = 1000;
const COUNTERS = ["people_in", "people_out", "camera_in", "camera_out", "outside_in", "outside_out", "refused"];
// 288 buckets leave bars a pixel wide, so every series is a line; vehicles dashed.
const SERIES = [
  { key: "people_in", name: t("人员进"), color: "#c0392b", dash: "solid" },
  { key: "people_out", name: t("人员出"), color: "#2471a3", dash: "solid" },
  { key: "outside_in", name: t("外来车辆进"), color: "#d68910", dash: "dashed" },
  { key: "outside_out", name: t("外来车辆出"), color: "#17a589", dash: "dashed" },
];
// Answers after which reconnecting cannot help. The stream closes with 4401/4403/4404 for the same reasons.
const REFUSALS = {
  401: t("登录已失效，请刷新页面重新登录"),
  403: t("无权查看门岗数据"),
  404: t("该出入口或小区已不在负责范围内"),
};
const CLOSE_CODE_BASE = 4000;

const { today: initial, labels } = JSON.parse(document.getElementById("flow-data").textContent);
const query = initial.gate_id ? `gate_id=${initial.gate_id}` : `compound_id=${initial.compound_id}`;
const clock = new Intl.DateTimeFormat("zh-CN", {
  timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
});
const dateTime = new Intl.DateTimeFormat("zh-CN", {
  timeZone: "Asia/Shanghai", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
});

const state = {
  dayStart: 0,
  gateNames: {},
  series: {},
  totals: {},
  seen: new Set(), // feed entries on screen, so a reload and the stream never show one twice
  marks: new Map(), // "gate/bucket" → the revisions the numbers hold, so no count is applied twice
  alarms: new Map(),
};

const chart = echarts.init(document.getElementById("flow-chart"));

// ---- helpers ----------------------------------------------------------------------------------

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

// The evidence picture behind a plate read or an alarm, when the device sent one (opens in a new tab).
function snapshotLink(deviceId, snapshotId) {
  const link = el("a", t("抓拍图"), "snapshot");
  link.href = `/api/v1/devices/${encodeURIComponent(deviceId)}/snapshots/${encodeURIComponent(snapshotId)}.jpg`;
  link.target = "_blank";
  link.rel = "noopener";
  return link;
}

function withSnapshot(li, deviceId, snapshotId) {
  if (deviceId && snapshotId) li.append(" ", snapshotLink(deviceId, snapshotId));
}

function label(group, code) {
  return (labels[group] && labels[group][code]) || code || "";
}

function direction(code) {
  return code === "in" ? t("进") : code === "out" ? t("出") : code;
}

function gateName(gateId) {
  return state.gateNames[gateId] || (gateId ? t("出入口 {id}", { id: gateId }) : t("小区"));
}

function bucketIndex(isoMoment) {
  return Math.floor((Date.parse(isoMoment) - state.dayStart) / BUCKET_MS);
}

function currentIndex() {
  return Math.min(bucketIndex(new Date().toISOString()), BUCKETS_PER_DAY - 1);
}

function dwell(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  return hours ? t("{hours} 小时 {minutes} 分", { hours, minutes }) : t("{minutes} 分", { minutes });
}

// ---- connection state -------------------------------------------------------------------------

const conn = document.getElementById("flow-conn");

function setConnection(stateName, text) {
  conn.dataset.state = stateName;
  conn.textContent = text;
}

// ---- the day: chart and numbers ---------------------------------------------------------------

// Buckets up to now count from zero; later ones stay empty so the lines stop at the present.
function fillToNow() {
  const upTo = currentIndex();
  for (const { key } of SERIES) {
    const data = state.series[key];
    for (let i = 0; i <= upTo; i += 1) if (data[i] === null) data[i] = 0;
  }
}

function loadDay(today) {
  state.dayStart = Date.parse(today.day_start);
  state.gateNames = Object.fromEntries(today.gates.map((g) => [g.id, g.name]));
  for (const { key } of SERIES) state.series[key] = new Array(BUCKETS_PER_DAY).fill(null);
  for (const bucket of today.flow.buckets) {
    const i = bucketIndex(bucket.bucket);
    if (i < 0 || i >= BUCKETS_PER_DAY) continue;
    for (const { key } of SERIES) state.series[key][i] = (state.series[key][i] || 0) + bucket[key];
  }
  state.marks = new Map();
  for (const [bucket, gates] of Object.entries(today.flow.marks)) {
    for (const [gateId, revision] of Object.entries(gates)) {
      state.marks.set(markKey(gateId, bucket), { upTo: revision, since: new Set() });
    }
  }
  fillToNow();
  for (const key of COUNTERS) state.totals[key] = today.flow.totals[key];
  state.totals.outside_present = today.flow.outside_present;
  renderNumbers();
  renderChart();
  renderOvernight(today.overnight);
  state.alarms.clear();
  document.getElementById("flow-alarms").replaceChildren();
  for (const alarm of [...today.alarms].reverse()) raiseAlarm(alarm, false);
  renderAlarmsEmpty();
  for (const message of [...today.feed].reverse()) addToFeed(message, false);
}

function markKey(gateId, bucket) {
  return `${gateId}/${Date.parse(bucket)}`;
}

// Each change of a gate's bucket raises its revision by one. Changes reach the page by two paths (the
// web app's own commits and the ingest process's relay), so they may arrive out of order: remember
// every revision applied above the reloaded one.
function firstTime(message) {
  const key = markKey(message.gate_id, message.bucket);
  if (!state.marks.has(key)) state.marks.set(key, { upTo: 0, since: new Set() });
  const mark = state.marks.get(key);
  if (message.revision <= mark.upTo || mark.since.has(message.revision)) return false;
  mark.since.add(message.revision);
  return true;
}

function applyFlow(message) {
  const i = bucketIndex(message.bucket);
  if (i >= BUCKETS_PER_DAY) {
    resync(); // a new day began
    return;
  }
  if (i < 0) return; // a late count for yesterday
  if (!firstTime(message)) return;
  for (const [key, delta] of Object.entries(message.deltas)) {
    if (key in state.totals) state.totals[key] += delta;
    if (key in state.series) state.series[key][i] = (state.series[key][i] || 0) + delta;
  }
  fillToNow();
  renderNumbers();
  renderChart();
}

function renderNumbers() {
  for (const [key, value] of Object.entries(state.totals)) {
    const node = document.getElementById(`n-${key}`);
    if (node) node.textContent = String(value);
  }
}

let chartPending = false;

function renderChart() {
  if (chartPending) return; // one redraw per frame, however many counts arrive
  chartPending = true;
  requestAnimationFrame(() => {
    chartPending = false;
    chart.setOption({ series: SERIES.map(({ key }) => ({ id: key, data: state.series[key] })) });
  });
}

function setUpChart() {
  const times = Array.from({ length: BUCKETS_PER_DAY }, (_, i) => {
    const minutes = i * 5;
    return `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
  });
  chart.setOption({
    animation: false,
    // Drawn on the canvas: an HTML tooltip carries inline styles, which the CSP refuses.
    tooltip: { trigger: "axis", renderMode: "richText" },
    legend: { top: 0 },
    grid: { left: 40, right: 16, top: 36, bottom: 28 },
    xAxis: { type: "category", data: times, axisLabel: { interval: 23 } },
    yAxis: { type: "value", minInterval: 1 },
    series: SERIES.map(({ key, name, color, dash }) => ({
      id: key, name, type: "line", color, data: [], showSymbol: false, lineStyle: { type: dash },
    })),
  });
  window.addEventListener("resize", () => chart.resize());
}

// ---- vehicles inside --------------------------------------------------------------------------

function renderOvernight(rows) {
  const body = document.getElementById("flow-overnight");
  body.replaceChildren(
    ...rows.map((row) => {
      const tr = el("tr");
      tr.append(
        el("td", row.plate, "plate"),
        el("td", row.entered_at ? dateTime.format(new Date(row.entered_at)) : ""),
        el("td", row.entered_gate_id ? gateName(row.entered_gate_id) : ""),
        el("td", dwell(row.dwell_s)),
      );
      return tr;
    }),
  );
  document.getElementById("n-overnight").textContent = String(rows.length);
  document.getElementById("flow-overnight-empty").hidden = rows.length > 0;
}

// Who is inside follows from the presence records, not from the counts: ask again after a burst.
let vehicleTimer = null;

function refreshVehiclesSoon() {
  if (vehicleTimer) return;
  vehicleTimer = setTimeout(async () => {
    vehicleTimer = null;
    const { today } = await fetchToday();
    if (!today) return;
    state.totals.outside_present = today.flow.outside_present;
    renderNumbers();
    renderOvernight(today.overnight);
  }, VEHICLE_REFRESH_MS);
}

// ---- the feed ---------------------------------------------------------------------------------

function feedKey(message) {
  switch (message.event) {
    case "access.vehicle_seen": return `v${message.passage_id}`;
    case "access.pass_checked": return `p${message.check_id}`;
    case "access.alarm_raised": return `a${message.alarm_id}`;
    default: return null;
  }
}

function feedEntry(message) {
  const li = el("li");
  li.append(el("time", clock.format(new Date(message.occurred_at))), el("span", gateName(message.gate_id), "gate"));
  switch (message.event) {
    case "access.vehicle_seen":
      li.dataset.kind = "plate";
      li.append(
        el("span", label("category", message.category), `badge ${message.category}`),
        el("span", message.plate, "plate"),
        " ",
        el("span", direction(message.direction)),
      );
      if (message.notes && message.notes.length) li.append(el("small", message.notes.join(t("；"))));
      withSnapshot(li, message.device_id, message.snapshot);
      break;
    case "access.pass_checked": {
      li.dataset.kind = "pass";
      const ok = message.decision === "ok";
      li.append(
        el("span", message.kind ? label("pass_kind", message.kind) : t("扫码"), "badge pass"),
        el("span", direction(message.direction)),
        " · ",
        el("span", ok ? t("通过") : t("拒绝：{reason}", { reason: label("reason", message.reason) }), ok ? "ok" : "refused"),
      );
      if (message.visitor_entries_left !== null && message.visitor_entries_left !== undefined) {
        li.append(el("small", t("访客剩余 {n} 次", { n: message.visitor_entries_left })));
      }
      break;
    }
    case "access.alarm_raised":
      li.dataset.kind = "alarm";
      li.className = "alarm";
      li.append(el("span", t("告警 · {alarm}", { alarm: label("alarm", message.type) }), "badge alarm"), el("span", message.summary));
      withSnapshot(li, message.device_id, message.evidence && message.evidence.snapshot);
      break;
    case "device.state":
      li.dataset.kind = "device";
      li.className = "device";
      li.append(el("span", t("设备 {device} {state}", { device: message.device_id, state: label("device_state", message.state) })));
      break;
    default:
      return null;
  }
  return li;
}

function addToFeed(message, live) {
  const key = feedKey(message);
  if (key) {
    if (state.seen.has(key)) return;
    state.seen.add(key);
  }
  const li = feedEntry(message);
  if (!li) return;
  if (key) li.dataset.key = key;
  if (live) li.classList.add("fresh");
  // Newest first; an entry recovered by a reload goes where its time puts it.
  const at = Date.parse(message.occurred_at);
  li.dataset.at = String(at);
  const feed = document.getElementById("flow-feed");
  const older = [...feed.children].find((child) => Number(child.dataset.at) < at);
  feed.insertBefore(li, older || null);
  while (feed.children.length > FEED_MAX) {
    state.seen.delete(feed.lastElementChild.dataset.key);
    feed.lastElementChild.remove();
  }
  document.getElementById("flow-feed-empty").hidden = true;
}

// ---- alarms -----------------------------------------------------------------------------------

function raiseAlarm(message, live) {
  if (state.alarms.has(message.alarm_id)) return;
  const li = el("li");
  li.dataset.alarm = String(message.alarm_id);
  li.append(
    el("time", dateTime.format(new Date(message.occurred_at))),
    " ",
    el("span", label("alarm", message.type), "badge alarm"),
    el("span", message.summary),
  );
  withSnapshot(li, message.device_id, message.evidence && message.evidence.snapshot);
  if (live) li.classList.add("fresh");
  state.alarms.set(message.alarm_id, li);
  document.getElementById("flow-alarms").prepend(li);
  renderAlarmsEmpty();
}

function clearAlarm(message) {
  const li = state.alarms.get(message.alarm_id);
  if (!li) return;
  li.remove();
  state.alarms.delete(message.alarm_id);
  renderAlarmsEmpty();
}

function renderAlarmsEmpty() {
  document.getElementById("flow-alarms-empty").hidden = state.alarms.size > 0;
}

// ---- the stream -------------------------------------------------------------------------------

function handle(message) {
  switch (message.event) {
    case "access.flow":
      applyFlow(message);
      break;
    case "access.vehicle_seen":
      addToFeed(message, true);
      if (message.category === "outside") refreshVehiclesSoon();
      break;
    case "access.pass_checked":
    case "device.state":
      addToFeed(message, true);
      break;
    case "access.alarm_raised":
      raiseAlarm(message, true);
      addToFeed(message, true);
      break;
    case "access.alarm_cleared":
      clearAlarm(message);
      break;
    default:
      break;
  }
}

async function fetchToday() {
  try {
    const response = await fetch(`/api/v1/flow/today?${query}`, { credentials: "same-origin" });
    return response.ok ? { today: await response.json() } : { status: response.status };
  } catch {
    return { status: 0 }; // the server is unreachable
  }
}

let socket = null;
let attempts = 0;
let stopped = false;
let buffered = null; // messages received while the day reloads; null when not reloading

function stop(status) {
  stopped = true;
  setConnection("closed", REFUSALS[status]);
  if (socket) socket.close();
}

async function resync() {
  if (buffered) return;
  buffered = [];
  const { today, status } = await fetchToday();
  const pending = buffered;
  buffered = null;
  if (!today) {
    if (status in REFUSALS) stop(status);
    else if (socket) socket.close(); // reconnecting reloads again
    return;
  }
  loadDay(today);
  // Counts already in the reload are skipped by revision; passages and alarms are de-duplicated by id.
  for (const message of pending) handle(message);
}

function connect() {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const current = new WebSocket(`${scheme}://${window.location.host}/ws/v1/access?${query}`);
  let opened = false;
  socket = current;
  current.addEventListener("open", () => {
    opened = true;
    attempts = 0;
    setConnection("live", t("实时更新中"));
    resync();
  });
  current.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (buffered) buffered.push(message);
    else handle(message);
  });
  current.addEventListener("close", async (event) => {
    if (socket === current) socket = null;
    if (stopped) return;
    if (event.code - CLOSE_CODE_BASE in REFUSALS) {
      stop(event.code - CLOSE_CODE_BASE);
      return;
    }
    if (!opened) {
      // Never connected (server away, or a proxy in between refused it): ask the API why.
      const { status } = await fetchToday();
      if (status in REFUSALS) {
        stop(status);
        return;
      }
    }
    attempts += 1;
    const delay = Math.min(2 ** (attempts - 1), RECONNECT_MAX_S);
    setConnection("reconnecting", t("连接中断，{delay} 秒后重连（第 {attempts} 次）", { delay, attempts }));
    setTimeout(connect, delay * 1000);
  });
}

// ---- start ------------------------------------------------------------------------------------

document.getElementById("flow-view").addEventListener("change", (event) => {
  window.location.assign(event.target.value);
});

setUpChart();
loadDay(initial);
connect();
// Once a minute: move the chart's present forward, and reload when the day changes.
setInterval(() => {
  if (Date.now() - state.dayStart >= BUCKETS_PER_DAY * BUCKET_MS) resync();
  else {
    fillToNow();
    renderChart();
  }
}, 60 * 1000);
