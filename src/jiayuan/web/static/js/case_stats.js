// 事件统计: a bar per category beside the tables (the figures come from the page itself).
const { labels, totals } = JSON.parse(document.getElementById("stats-data").textContent);
const chart = echarts.init(document.getElementById("stats-chart"));
chart.setOption({
  grid: { left: 40, right: 16, top: 16, bottom: 48 },
  xAxis: { type: "category", data: labels, axisLabel: { interval: 0, rotate: labels.length > 6 ? 30 : 0 } },
  yAxis: { type: "value", minInterval: 1 },
  tooltip: {},
  series: [{ type: "bar", name: t("上报"), data: totals, itemStyle: { color: "#2471a3" } }],
});
window.addEventListener("resize", () => chart.resize());
