// 安全生产执法统计驾驶舱: logs in, reads /api/v1/stats with the token, draws with the local ECharts.
"use strict";

const API = "/api/v1";
// The access token lives 15 minutes; the refresh token (kept for this browser tab) renews it silently, so a
// leader who keeps the board open all day stays logged in until they log out or the session is ended.
const TZ = "Asia/Shanghai"; // the bureau's time zone: every time shown is in it, whatever the reader's computer says
const state = {
  token: sessionStorage.getItem("fc.token") || "", refresh: sessionStorage.getItem("fc.refresh") || "",
  device: sessionStorage.getItem("fc.device") || crypto.randomUUID(), refreshes: 0,
  defs: {}, data: null, drill: null, loads: 0, charts: {}, timer: null,
};
sessionStorage.setItem("fc.device", state.device);
window.fieldcheckDashboard = state; // read by the browser test

const $ = (id) => document.getElementById(id);

function setStatus(text) { $("status").textContent = text; }

function keepTokens(body) {
  state.token = body.access_token; state.refresh = body.refresh_token;
  sessionStorage.setItem("fc.token", state.token); sessionStorage.setItem("fc.refresh", state.refresh);
  clearTimeout(state.timer);
  // Renew a minute before the access token runs out (at most every 14 of its 15 minutes).
  state.timer = setTimeout(() => renew().catch(() => {}), Math.max(30, (body.expires_in || 900) - 60) * 1000);
}

let renewing = null;
async function renew() {
  // One renewal at a time: two panels that meet a 401 together must not spend the refresh token twice.
  if (!renewing) {
    renewing = (async () => {
      if (!state.refresh) return false;
      const response = await fetch(API + "/auth/refresh", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: state.refresh, device_id: state.device }),
      });
      if (!response.ok) return false;
      keepTokens(await response.json());
      state.refreshes += 1;
      return true;
    })().finally(() => { renewing = null; });
  }
  return renewing;
}

async function api(path, params) {
  const url = new URL(API + path, location.origin);
  for (const [k, v] of Object.entries(params || {})) if (v !== "" && v !== null && v !== undefined) url.searchParams.set(k, v);
  let response = await fetch(url, { headers: { Authorization: "Bearer " + state.token } });
  if (response.status === 401 && await renew()) response = await fetch(url, { headers: { Authorization: "Bearer " + state.token } });
  if (response.status === 401) { endSession("登录已失效，请重新登录"); throw new Error("登录已失效，请重新登录"); }
  if (!response.ok) {
    let message = "请求失败（" + response.status + "）";
    try { message = (await response.json()).message || message; } catch (e) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

async function login(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  const response = await fetch(API + "/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: $("username").value, password: $("password").value, device_id: state.device, device_name: "统计驾驶舱" }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) { $("login-error").textContent = body.message || "登录失败"; return; }
  keepTokens(body);
  $("password").value = "";
  await start();
}

function endSession(message) {
  clearTimeout(state.timer);
  state.token = ""; state.refresh = "";
  sessionStorage.removeItem("fc.token"); sessionStorage.removeItem("fc.refresh");
  $("board").hidden = true; $("logout").hidden = true; $("login-panel").hidden = false;
  $("login-error").textContent = message || "";
}

async function logout() {
  // Ends the session on the server too (the refresh token is revoked), then forgets it here.
  if (state.token && state.refresh) {
    await fetch(API + "/auth/logout", {
      method: "POST", headers: { "Content-Type": "application/json", Authorization: "Bearer " + state.token },
      body: JSON.stringify({ refresh_token: state.refresh, device_id: state.device }),
    }).catch(() => {});
  }
  endSession("已退出登录");
}

function periodOptions() {
  const grain = $("grain").value;
  const select = $("period");
  const keep = select.value;
  select.innerHTML = "";
  const thisYear = Number(localToday().slice(0, 4));
  for (let year = thisYear; year >= thisYear - 5; year--) {
    if (grain === "year") select.add(new Option(year + "年", String(year)));
    if (grain === "quarter") for (let q = 4; q >= 1; q--) select.add(new Option(year + "年第" + "一二三四"[q - 1] + "季度", year + "-Q" + q));
    if (grain === "month") for (let m = 12; m >= 1; m--) select.add(new Option(year + "年" + m + "月", year + "-" + String(m).padStart(2, "0")));
  }
  if ([...select.options].some((o) => o.value === keep)) select.value = keep;
  else select.value = currentPeriod(grain); // the board opens on the period we are in
}

function localToday() {
  // Today's date in the bureau's zone, as YYYY-MM-DD.
  return new Intl.DateTimeFormat("en-CA", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
}

function currentPeriod(grain) {
  const [year, month] = localToday().split("-").map(Number);
  if (grain === "quarter") return year + "-Q" + (Math.floor((month - 1) / 3) + 1);
  if (grain === "month") return year + "-" + String(month).padStart(2, "0");
  return String(year);
}

function filters() {
  return { period: $("period").value, district: $("district").value, sector: $("sector").value };
}

function fmt(key, value) {
  if (value === null || value === undefined) return "—";
  const def = state.defs[key] || {};
  if (def.kind === "ratio") return value.toFixed(def.unit === "%" ? 1 : 1);
  return Number(value).toLocaleString("zh-CN");
}

function figure(row, key) { return (row.figures || []).find((f) => f.key === key) || { key }; }

function yoy(f) {
  // The sign once (+12.5% / −3.0%), coloured by whether that way is good news for this indicator.
  if (f.change === null || f.change === undefined) return "同比 —";
  const pct = Math.abs(f.change * 100).toFixed(1);
  const sign = f.change > 0 ? "+" : f.change < 0 ? "−" : "";
  const better = (state.defs[f.key] || {}).better || "";
  const good = f.change === 0 || !better ? "neutral" : (f.change > 0) === (better === "up") ? "good" : "bad";
  return `同比 <span class="change ${good}" data-change="${good}">${sign}${pct}%</span>`;
}

function renderKpis() {
  const box = $("kpis");
  box.innerHTML = "";
  for (const key of state.data.headline) {
    const def = state.defs[key]; const f = figure(state.data.summary, key);
    const card = document.createElement("div");
    card.className = "kpi"; card.dataset.kpi = key; card.dataset.value = f.value ?? "";
    card.title = def.definition;
    card.innerHTML = `<div class="name">${def.name}</div><div><span class="value">${fmt(key, f.value)}</span><span class="unit">${def.unit}</span></div><div class="yoy">上年同期 ${fmt(key, f.previous)}，${yoy(f)}</div>`;
    card.addEventListener("click", guard(() => openDrill(key, null, null, 1)));
    box.appendChild(card);
  }
  const scope = state.data.summary.scope;
  const partial = scope.partial ? "，本期未结束，数字截至今日" : "";
  $("scope-label").textContent = `${scope.period_label}（同比基期：${scope.previous_label}${partial}）`;
}

function partialArea(rows, labels) {
  const i = rows.findIndex((r) => r.partial);
  if (i < 0) return undefined;
  return { silent: true, itemStyle: { color: "rgba(150,150,150,0.12)" }, label: { show: true, position: "insideTop", formatter: "未满" },
    data: [[{ xAxis: labels[i] }, { xAxis: labels[i] }]] };
}

const MAP_INDICATOR = "hazards_found";
let mapReady = null;
function renderMap(districts) {
  // A schematic of the three districts (web/dashboard/zhongwei-districts.geojson, not survey boundaries).
  mapReady = mapReady || fetch("/static/stats/zhongwei-districts.geojson").then((r) => r.json()).then((geo) => {
    state.geoCodes = Object.fromEntries(geo.features.map((f) => [f.properties.name, f.properties.code]));
    echarts.registerMap("zhongwei", geo);
  });
  return mapReady.then(() => {
    const values = districts.map((r) => ({ name: r.label, value: figure(r, MAP_INDICATOR).value ?? 0, group: r.group }));
    chart("chart-map").setOption({
      tooltip: { trigger: "item", formatter: (p) => `${p.name}<br>${state.defs[MAP_INDICATOR].name}：${fmt(MAP_INDICATOR, p.value)}` },
      visualMap: { min: 0, max: Math.max(1, ...values.map((v) => v.value)), left: 0, bottom: 0, text: ["多", "少"], calculable: false,
        inRange: { color: ["#e0ecf8", "#1f5fa8"] } },
      series: [{ type: "map", map: "zhongwei", roam: false, label: { show: true }, data: values,
        emphasis: { label: { show: true } } }],
    }, true);
    chart("chart-map").off("click");
    chart("chart-map").on("click", (p) => openDrill(MAP_INDICATOR, "district", state.geoCodes[p.name], 1));
    state.mapDrawn = true;
  });
}

function chart(id) {
  if (!state.charts[id]) state.charts[id] = echarts.init($(id), null, { renderer: "canvas" });
  return state.charts[id];
}

function series(rows, key) {
  // Rates with no denominator stay gaps; counts with no records are 0.
  const ratio = (state.defs[key] || {}).kind === "ratio";
  return rows.map((r) => figure(r, key).value ?? (ratio ? null : 0));
}

function renderCharts() {
  const d = state.data;
  // The bucket we are in is not over: marked 未满, drawn pale, so it does not read as a fall.
  const labels = d.trend.rows.map((r) => r.partial ? r.label + "（未满）" : r.label);
  const pale = (values, color) => values.map((v, i) => d.trend.rows[i].partial ? { value: v, itemStyle: { color, opacity: 0.35 } } : v);
  chart("chart-trend").setOption({
    tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 50, right: 50, top: 40, bottom: 30 },
    xAxis: { type: "category", data: labels },
    yAxis: [{ type: "value", name: "家次/项" }, { type: "value", name: "%", max: 100 }],
    series: [
      { name: "检查次数", type: "bar", data: pale(series(d.trend.rows, "checks"), "#5470c6") },
      { name: "上年同期检查次数", type: "bar", data: d.trend.rows.map((r) => figure(r, "checks").previous ?? 0) },
      { name: "发现隐患", type: "line", data: series(d.trend.rows, "hazards_found"),
        markArea: partialArea(d.trend.rows, labels) },
      { name: "隐患整改率", type: "line", yAxisIndex: 1, data: series(d.trend.rows, "rectification_rate") },
    ],
  }, true);
  state.trendPartial = d.trend.rows.filter((r) => r.partial).map((r) => r.group);
  chart("chart-trend").off("click");
  chart("chart-trend").on("click", (p) => openDrill(p.seriesIndex >= 2 ? "hazards_found" : "checks", "period", d.trend.rows[p.dataIndex].group, 1));

  const sectors = d.by_sector.rows;
  chart("chart-sector").setOption({
    tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 50, right: 20, top: 40, bottom: 30 },
    xAxis: { type: "category", data: sectors.map((r) => r.label) }, yAxis: { type: "value" },
    series: [
      { name: "检查次数", type: "bar", data: series(sectors, "checks") },
      { name: "发现隐患", type: "bar", data: series(sectors, "hazards_found") },
      { name: "重大隐患", type: "bar", data: series(sectors, "hazards_major") },
    ],
  }, true);
  chart("chart-sector").off("click");
  chart("chart-sector").on("click", (p) => openDrill(["checks", "hazards_found", "hazards_major"][p.seriesIndex], "sector", sectors[p.dataIndex].group, 1));

  const districts = d.by_district.rows;
  chart("chart-district").setOption({
    tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 50, right: 50, top: 40, bottom: 30 },
    xAxis: { type: "category", data: districts.map((r) => r.label) },
    yAxis: [{ type: "value" }, { type: "value", name: "%", max: 100 }],
    series: [
      { name: "检查企业数", type: "bar", data: series(districts, "enterprises_inspected") },
      { name: "检查覆盖率", type: "line", yAxisIndex: 1, data: series(districts, "coverage_rate") },
    ],
  }, true);
  chart("chart-district").off("click");
  chart("chart-district").on("click", (p) => openDrill(["enterprises_inspected", "coverage_rate"][p.seriesIndex], "district", districts[p.dataIndex].group, 1));
  renderMap(districts);

  const departments = d.by_department.rows;
  chart("chart-department").setOption({
    tooltip: { trigger: "axis" }, grid: { left: 170, right: 20, top: 10, bottom: 30 },
    yAxis: { type: "category", data: departments.map((r) => r.label) }, xAxis: { type: "value" },
    series: [{ name: "检查次数", type: "bar", data: series(departments, "checks") }],
  }, true);
  chart("chart-department").off("click");
  chart("chart-department").on("click", (p) => openDrill("checks", "department", departments[p.dataIndex].group, 1));
}

const DISTRICT_COLUMNS = ["enterprises_inspected", "registry_enterprises", "coverage_rate", "checks", "hazards_found",
  "hazards_major", "rectification_rate", "hazards_overdue", "violations", "actions", "fines_yuan"];
const INSPECTOR_COLUMNS = ["checks", "hazards_found", "hazards_major", "hazards_overdue", "violations", "actions", "rechecks_done"];

function table(target, breakdown, columns, by, limit) {
  const rows = breakdown.rows.slice(0, limit || breakdown.rows.length);
  const head = `<tr><th>${breakdown.by_label}</th>${columns.map((k) => `<th title="${state.defs[k].definition}">${state.defs[k].name}</th>`).join("")}</tr>`;
  const body = rows.map((r) => `<tr><td>${r.label}</td>${columns.map((k) =>
    `<td class="link" data-indicator="${k}" data-by="${by}" data-group="${r.group}">${fmt(k, figure(r, k).value)}</td>`).join("")}</tr>`).join("");
  $(target).innerHTML = `<table>${head}${body}</table>`;
}

function renderTables() {
  table("table-district", state.data.by_district, DISTRICT_COLUMNS, "district");
  table("table-inspector", state.data.by_inspector, INSPECTOR_COLUMNS, "inspector", 15);
}

async function load() {
  setStatus("正在加载…");
  const params = Object.assign(filters(), { trend_grain: $("trend-grain").value });
  const response = await api("/stats/dashboard", params);
  state.data = await response.json();
  renderKpis(); renderCharts(); renderTables();
  state.loads += 1;
  const fresh = state.data.freshness;
  $("as-of").textContent = fresh ? `数据截至 ${fresh.as_of_label}（北京时间）${fresh.pending ? "，最新上报正在汇总" : ""}` : "";
  setStatus("");
}

async function openDrill(indicator, by, group, page) {
  state.drill = { indicator, by, group, page };
  const response = await api("/stats/drilldown", Object.assign(filters(), { indicator, by, group, page, page_size: 50 }));
  const body = await response.json();
  $("drill").hidden = false;
  $("drill-title").textContent = body.title;
  const extra = body.distinct_people !== undefined && body.distinct_people !== null ? `，涉及 ${body.distinct_people} 人` : "";
  $("drill-count").textContent = `共 ${body.total} 条${extra}。`;
  const counted = body.counted ? "<th>计入分子</th>" : "";
  // The first cell opens the record's page in the console.
  const cell = (c, j, i) => j === 0 && body.links && body.links[i]
    ? `<td><a href="${escapeHtml(body.links[i])}" target="_blank" rel="noopener">${escapeHtml(c)}</a></td>` : `<td>${escapeHtml(c)}</td>`;
  const rows = body.rows.map((r, i) => `<tr>${r.map((c, j) => cell(c, j, i)).join("")}${body.counted ? `<td>${body.counted[i] ? "是" : "否"}</td>` : ""}</tr>`).join("");
  $("drill-table").innerHTML = `<table data-total="${body.total}"><tr>${body.columns.map((c) => `<th>${c}</th>`).join("")}${counted}</tr>${rows}</table>`;
  const pages = Math.max(1, Math.ceil(body.total / body.page_size));
  $("drill-page").textContent = `第 ${body.page} / ${pages} 页`;
  $("drill-prev").disabled = body.page <= 1; $("drill-next").disabled = body.page >= pages;
  state.drillResult = body;
  $("drill").scrollIntoView({ block: "start" });
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

async function download(params) {
  const response = await api("/stats/export", Object.assign(filters(), params));
  const blob = await response.blob();
  const disposition = response.headers.get("content-disposition") || "";
  const match = /filename\*=UTF-8''([^;]+)/.exec(disposition);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = match ? decodeURIComponent(match[1]) : "fieldcheck." + params.format;
  link.click();
  URL.revokeObjectURL(link.href);
}

async function start() {
  const response = await api("/stats/indicators");
  for (const def of await response.json()) state.defs[def.key] = def;
  const me = await (await api("/auth/me")).json().catch(() => ({}));
  $("who").textContent = me.display_name ? `${me.display_name}` : "";
  $("login-panel").hidden = true; $("board").hidden = false; $("logout").hidden = false;
  periodOptions();
  await load();
}

function guard(fn) {
  return (...args) => Promise.resolve(fn(...args)).catch((error) => setStatus("出错：" + error.message));
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", guard(login));
  $("logout").addEventListener("click", logout);
  $("grain").addEventListener("change", guard(() => { periodOptions(); return load(); }));
  for (const id of ["period", "district", "sector", "trend-grain"]) $(id).addEventListener("change", guard(load));
  for (const button of document.querySelectorAll("[data-export]")) {
    button.addEventListener("click", guard(() => download({ view: button.dataset.export, format: button.dataset.format,
      by: button.dataset.by, grain: button.dataset.by === "period" ? $("trend-grain").value : undefined })));
  }
  document.body.addEventListener("click", guard((event) => {
    const cell = event.target.closest("td.link");
    if (cell) return openDrill(cell.dataset.indicator, cell.dataset.by, cell.dataset.group === "null" ? null : cell.dataset.group, 1);
  }));
  $("drill-prev").addEventListener("click", guard(() => openDrill(state.drill.indicator, state.drill.by, state.drill.group, state.drill.page - 1)));
  $("drill-next").addEventListener("click", guard(() => openDrill(state.drill.indicator, state.drill.by, state.drill.group, state.drill.page + 1)));
  $("drill-close").addEventListener("click", () => { $("drill").hidden = true; });
  const drillExport = (format) => guard(() => download({ view: "drilldown", format, indicator: state.drill.indicator, by: state.drill.by, group: state.drill.group }));
  $("drill-csv").addEventListener("click", drillExport("csv"));
  $("drill-xlsx").addEventListener("click", drillExport("xlsx"));
  window.addEventListener("resize", () => Object.values(state.charts).forEach((c) => c.resize()));
  // Figures refresh themselves every minute while the board is open (reads are cheap: no recount).
  setInterval(() => { if (state.token && !document.hidden && state.loads) guard(load)(); }, 60_000);
  if (state.token) guard(start)(); else periodOptions();
});
