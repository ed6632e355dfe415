// 安全生产执法统计驾驶舱: logs in, reads /api/v1/stats with the token, draws with the local ECharts.
"use strict";

const API = "/api/v1";
const state = { token: sessionStorage.getItem("fc.token") || "", defs: {}, data: null, drill: null, loads: 0, charts: {} };
window.fieldcheckDashboard = state; // read by the browser test

const $ = (id) => document.getElementById(id);

function setStatus(text) { $("status").textContent = text; }

async function api(path, params) {
  const url = new URL(API + path, location.origin);
  for (const [k, v] of Object.entries(params || {})) if (v !== "" && v !== null && v !== undefined) url.searchParams.set(k, v);
  const response = await fetch(url, { headers: { Authorization: "Bearer " + state.token } });
  if (response.status === 401) { logout(); throw new Error("登录已过期，请重新登录"); }
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
    body: JSON.stringify({ username: $("username").value, password: $("password").value }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) { $("login-error").textContent = body.message || "登录失败"; return; }
  state.token = body.access_token;
  sessionStorage.setItem("fc.token", state.token);
  await start();
}

function logout() {
  state.token = "";
  sessionStorage.removeItem("fc.token");
  $("board").hidden = true; $("logout").hidden = true; $("login-panel").hidden = false;
}

function periodOptions() {
  const grain = $("grain").value;
  const now = new Date();
  const select = $("period");
  const keep = select.value;
  select.innerHTML = "";
  for (let year = now.getFullYear(); year >= now.getFullYear() - 5; year--) {
    if (grain === "year") select.add(new Option(year + "年", String(year)));
    if (grain === "quarter") for (let q = 4; q >= 1; q--) select.add(new Option(year + "年第" + "一二三四"[q - 1] + "季度", year + "-Q" + q));
    if (grain === "month") for (let m = 12; m >= 1; m--) select.add(new Option(year + "年" + m + "月", year + "-" + String(m).padStart(2, "0")));
  }
  if ([...select.options].some((o) => o.value === keep)) select.value = keep;
  else if (grain === "year") select.value = String(now.getFullYear() - 1);
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
  if (f.change === null || f.change === undefined) return "同比 —";
  const pct = (f.change * 100).toFixed(1);
  const cls = f.change > 0 ? "up" : f.change < 0 ? "down" : "";
  return `同比 <span class="${cls}">${f.change > 0 ? "↑" : f.change < 0 ? "↓" : ""}${pct}%</span>`;
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
  $("scope-label").textContent = `${scope.period_label}（同比基期：${scope.previous_label}）`;
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
  const labels = d.trend.rows.map((r) => r.label);
  chart("chart-trend").setOption({
    tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 50, right: 50, top: 40, bottom: 30 },
    xAxis: { type: "category", data: labels },
    yAxis: [{ type: "value", name: "家次/项" }, { type: "value", name: "%", max: 100 }],
    series: [
      { name: "检查次数", type: "bar", data: series(d.trend.rows, "checks") },
      { name: "上年同期检查次数", type: "bar", data: d.trend.rows.map((r) => figure(r, "checks").previous ?? 0) },
      { name: "发现隐患", type: "line", data: series(d.trend.rows, "hazards_found") },
      { name: "隐患整改率", type: "line", yAxisIndex: 1, data: series(d.trend.rows, "rectification_rate") },
    ],
  }, true);
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
  setStatus("数据更新于 " + new Date(state.data.summary.generated_at).toLocaleString("zh-CN"));
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
  const rows = body.rows.map((r, i) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}${body.counted ? `<td>${body.counted[i] ? "是" : "否"}</td>` : ""}</tr>`).join("");
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
    button.addEventListener("click", guard(() => download({ view: button.dataset.export, format: button.dataset.format })));
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
  if (state.token) guard(start)(); else periodOptions();
});
