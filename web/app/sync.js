/* The sync engine: the protocol of docs/sync-protocol.md, as sync_client speaks it (JSON encoding here).

   sync() pushes the outbox (per-device seq; a retried push gets the stored outcomes back, so nothing is
   applied twice), pulls every scope from its cursor until has_more is false (dropped scopes forgotten),
   uploads the photos (resumable chunks, SHA-256 per chunk), then pushes the submits that waited for them,
   and fetches the PDFs of the on-site documents it holds (hash-checked, kept in IndexedDB for offline use).
   It runs on the `online` event, on a timer with exponential backoff while it fails, and on demand.
   A refused login (401 after one refresh) pauses it with the outbox kept until the person logs in again. */
(function () {
  "use strict";
  const S = FC.store;
  const PROTOCOL = 1;
  const PUSH_BATCH = 200;
  const PULL_LIMIT = 500;
  const SINGLE_REQUEST_BYTES = 5 * 1024 * 1024;
  const PERMANENT = new Set(["unsupported_media", "image_too_many_pixels", "payload_too_large", "invalid_input"]);
  const listeners = new Set();
  /** What a person calls the fields that merge one by one (schemas.inspections.ITEM_RESULT_FIELDS). */
  const FIELD_NAMES = { outcome: "检查结果", note: "备注" };

  class NetworkError extends Error {}
  class AuthRequired extends Error {}
  class Refused extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }

  const state = { running: false, phase: "", done: 0, total: 0, lastReport: null };
  function emit(changes) { Object.assign(state, changes); for (const fn of listeners) fn({ ...state }); }

  function backoff(attempt, base, cap) { return Math.random() * Math.min(cap, base * 2 ** attempt); }
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  async function problem(response) {
    try {
      const body = await response.json();
      return [String(body.code || ""), String(body.message || body.detail || "")];
    } catch (e) { return ["", `HTTP ${response.status}`]; }
  }

  /** One API call with quick retries (lost answers, 5xx, 429), one token refresh on 401; JSON back. */
  async function call(method, path, { json, body, headers = {}, auth = true, attempts = 3, raw = false } = {}) {
    let refreshed = false, lastError = "";
    for (let attempt = 0; attempt < attempts;) {
      const h = { ...headers };
      if (json !== undefined) { h["content-type"] = "application/json"; h.accept = "application/json"; }
      if (auth) {
        const token = await S.getMeta("access_token");
        if (!token) throw new AuthRequired("请先登录");
        h.authorization = `Bearer ${token}`;
      }
      let response;
      try {
        response = await fetch(path, { method, headers: h, body: json !== undefined ? JSON.stringify(json) : body,
                                       cache: "no-store", credentials: "omit" });
      } catch (e) {
        lastError = "网络不可用";
        response = null;
      }
      if (response && response.ok) {
        try { return raw ? await response.blob() : await response.json(); } catch (e) { lastError = "服务器应答不完整"; response = null; }
      }
      if (response) {
        const [code, message] = await problem(response);
        lastError = message || `HTTP ${response.status}`;
        if (response.status === 401) {
          if (auth && !refreshed && (await refresh())) { refreshed = true; continue; }
          throw new AuthRequired(message || "登录已过期");
        }
        if (![408, 425, 429].includes(response.status) && response.status < 500) throw new Refused(response.status, code, message);
      }
      attempt += 1;
      if (attempt < attempts) await sleep(backoff(attempt - 1, 500, 5000));
    }
    throw new NetworkError(lastError);
  }

  async function refresh() {
    const token = await S.getMeta("refresh_token");
    if (!token) return false;
    let response;
    try {
      response = await fetch("/api/v1/auth/refresh", { method: "POST", headers: { "content-type": "application/json" },
                               body: JSON.stringify({ refresh_token: token, device_id: await S.deviceId() }) });
    } catch (e) { throw new NetworkError("网络不可用"); }
    if (response.status >= 500) throw new NetworkError(`HTTP ${response.status}`);
    if (response.status !== 200) return false;
    await saveTokens(await response.json());
    return true;
  }

  async function saveTokens(pair) {
    const values = { access_token: pair.access_token, refresh_token: pair.refresh_token, auth_required: false };
    if (pair.user) values.user = pair.user;
    await S.setMeta(values);
  }

  /** Log in on this device (it registers with its id); queued work of another user refuses the switch. */
  async function login(username, password) {
    const device_id = await S.deviceId();
    const response = await fetch("/api/v1/auth/login", { method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password, device_id, device_name: "fieldcheck 手机应用" }) });
    if (!response.ok) {
      const [code, message] = await problem(response);
      throw new Refused(response.status, code, message || "登录失败");
    }
    const pair = await response.json();
    const previous = await S.getMeta("user");
    if (previous && previous.id !== pair.user.id) {
      if ((await S.counts()).pending) throw new Refused(409, "other_user_pending", "本机还有其他账号未同步的记录，请先用该账号同步");
      await S.clearReplica();
    }
    await saveTokens(pair);
    return pair.user;
  }

  // --- push -------------------------------------------------------------------------

  async function heldInspections() {
    const rows = await S.db.uploads.filter((u) => (u.status === "queued" || u.status === "uploading") && !!u.inspectionId).toArray();
    return new Set(rows.map((u) => u.inspectionId));
  }

  function answersOf(response) {
    return response.outcomes.map((o) => {
      if (o.outcome === "conflict") {
        return { seq: o.seq, outcome: "conflict", code: "version_conflict",
                 message: "与其他检查人员的记录冲突，已提交负责人裁定：" + o.fields.map((f) => FIELD_NAMES[f] || f).join("、"),
                 field: o.fields.join(","),
                 detail: { entity_type: o.entity_type, entity_id: o.entity_id, fields: o.fields, conflict_ids: o.conflict_ids,
                           server_version: o.server_version, server_record: o.server_record } };
      }
      return { seq: o.seq, outcome: o.outcome, code: o.code || "", message: o.message || "", field: o.field || null, detail: null };
    });
  }

  async function push(report) {
    const held = await heldInspections();
    let after = 0;
    for (;;) {
      const batch = await S.pending(PUSH_BATCH, after);
      if (!batch.length) return;
      after = batch[batch.length - 1].seq;
      const waiting = new Set(), entries = [];
      for (const e of batch) {
        if (e.entityType === "inspection" && held.has(e.entityId) && (e.kind === "submit_inspection" || waiting.has(e.entityId))) {
          waiting.add(e.entityId);
          continue;
        }
        entries.push(e);
      }
      if (!entries.length) continue;
      emit({ phase: "push", done: 0, total: entries.length });
      await S.db.outbox.where("seq").anyOf(entries.map((e) => e.seq)).modify((e) => { e.attempts += 1; });
      const response = await call("POST", "/api/v1/sync/push", {
        json: { protocol: PROTOCOL, device_id: await S.deviceId(), mutations: entries.map((e) => e.payload) } });
      const answers = answersOf(response);
      for (const a of answers) {
        const entry = entries.find((e) => e.seq === a.seq);
        if (a.outcome === "rejected" && entry && S.EVIDENCE_KINDS.has(entry.kind)) {
          await S.db.uploads.update(entry.payload.id, { status: "failed", code: a.code || "rejected", message: a.message });
        }
      }
      const settled = await S.settle(answers);
      report.pushed += settled;
      report.rejected += answers.filter((a) => a.outcome === "rejected").length;
      report.conflicts += answers.filter((a) => a.outcome === "conflict").length;
      const deferred = answers.filter((a) => a.outcome === "deferred").length;
      report.deferred += deferred;
      emit({ done: entries.length });
      if (settled === 0 && !deferred) throw new NetworkError("服务器未答复上传的记录");
    }
  }

  // --- pull -------------------------------------------------------------------------

  async function pull(report) {
    for (;;) {
      const cursors = await S.cursors();
      const page = await call("POST", "/api/v1/sync/pull", {
        json: { protocol: PROTOCOL, device_id: await S.deviceId(), cursors, limit: PULL_LIMIT } });
      await S.applyPage(page);
      report.pulled += page.changes.length;
      emit({ phase: "pull", done: report.pulled, total: report.pulled + (page.has_more ? PULL_LIMIT : 0) });
      if (!page.has_more) break;
    }
    await S.finishPull();
  }

  // --- photos -----------------------------------------------------------------------

  async function waitPhoto(row, code, message) {
    const attempts = (row.attempts || 0) + 1;
    await S.db.uploads.update(row.evidenceId, { attempts, code, message,
      nextAttemptAt: Date.now() + backoff(attempts - 1, 5000, 15 * 60 * 1000) });
  }

  /** Every due photo (with ``now``, those backing off too: the person asked), oldest first. */
  async function uploadAll(report, now) {
    const due = (await S.db.uploads.toArray())
      .filter((u) => (u.status === "queued" || u.status === "uploading") && (now || (u.nextAttemptAt || 0) <= Date.now()))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    for (const row of due) {
      emit({ phase: "upload", done: 0, total: row.size, photo: row.evidenceId });
      try {
        await uploadOne(row);
      } catch (e) {
        if (e instanceof NetworkError) { await waitPhoto(row, "network", e.message); throw e; }
        if (!(e instanceof Refused)) throw e;
        if (e.status === 404) await waitPhoto(row, e.code, e.message);  // its record is not on the server yet
        else if (PERMANENT.has(e.code) || e.code === "local_copy_damaged") {
          await S.db.uploads.update(row.evidenceId, { status: "failed", code: e.code, message: e.message });
        } else await waitPhoto(row, e.code, e.message);
        continue;
      }
      report.uploaded += 1;
    }
  }

  async function uploadOne(row) {
    const stored = await S.db.blobs.get(row.sha256);
    if (!stored || (await FC.rules.sha256Hex(stored.blob)) !== row.sha256) {
      throw new Refused(0, "local_copy_damaged", "本机保存的照片副本已损坏或丢失");
    }
    const blob = stored.blob;
    const first = !row.attempts && !row.restarts;
    let whole = false;
    if (row.size <= SINGLE_REQUEST_BYTES && first) {
      try {
        await call("PUT", `/api/v1/evidence/blobs/${row.sha256}`, { body: blob, headers: { "content-type": "application/octet-stream" } });
        whole = true;
      } catch (e) {
        if (!(e instanceof Refused) || !["evidence_chunk_mismatch", "payload_too_large"].includes(e.code)) throw e;
      }
    }
    if (!whole) await sendInChunks(row, blob);
    await S.db.transaction("rw", [S.db.uploads, S.db.blobs], async () => {
      await S.db.uploads.update(row.evidenceId, { status: "done", sentBytes: row.size, code: "", message: "", nextAttemptAt: 0 });
      const others = await S.db.uploads.where("sha256").equals(row.sha256).filter((u) => u.status !== "done").count();
      if (!others) await S.db.blobs.delete(row.sha256);
    });
  }

  async function sendInChunks(row, blob) {
    for (let restarts = 0; ; restarts++) {
      const session = await call("POST", "/api/v1/evidence/uploads", { json: { sha256: row.sha256, size: row.size, media_type: row.mediaType } });
      try {
        await sendMissing(row, blob, session);
        return;
      } catch (e) {
        if (!(e instanceof Refused) || e.code !== "evidence_hash_mismatch" || restarts >= 3) throw e;
      }
    }
  }

  async function sendMissing(row, blob, session) {
    await S.db.uploads.update(row.evidenceId, { status: "uploading", sentBytes: session.received_bytes || 0 });
    if (session.status === "complete") return;
    if (session.status !== "open") throw new Refused(409, "upload_" + session.status, "上传会话已结束");
    const received = new Set(session.received_parts || []);
    const chunk = session.chunk_bytes;
    for (let n = 1; n <= session.part_count; n++) {
      if (received.has(n)) continue;
      const part = blob.slice((n - 1) * chunk, n * chunk);
      const answer = await call("PUT", `/api/v1/evidence/uploads/${session.id}/parts/${n}`, {
        body: part, headers: { "content-type": "application/octet-stream", "X-Chunk-SHA256": await FC.rules.sha256Hex(part) } });
      await S.db.uploads.update(row.evidenceId, { sentBytes: answer.received_bytes || 0 });
      emit({ done: answer.received_bytes || 0 });
      if (answer.status === "complete") return;
    }
    throw new Refused(409, "upload_incomplete", "服务器未确认全部分片");
  }

  // --- documents ----------------------------------------------------------------------

  /** The PDF of an on-site document held here: kept on the phone, or fetched once (only by who may see the
      check) and kept; its SHA-256 must be the pulled record's, the issued document's, else it is refused. */
  async function documentPdf(doc) {
    const kept = await S.db.pdfs.get(doc.sha256);
    if (kept && (await FC.rules.sha256Hex(kept.blob)) === doc.sha256) return kept.blob;
    const blob = await call("GET", `/api/v1/documents/${doc.id}/pdf`, { raw: true });
    if ((await FC.rules.sha256Hex(blob)) !== doc.sha256) {
      throw new Refused(0, "document_hash_mismatch", "下载的文书与签发记录不符（SHA-256 不一致），未保存");
    }
    const pdf = new Blob([blob], { type: "application/pdf" });
    await S.db.pdfs.put({ sha256: doc.sha256, documentId: doc.id, blob: pdf, fetchedAt: new Date().toISOString() });
    return pdf;
  }

  /** Fetch every held document not kept yet, so each opens offline later; PDFs of documents no longer held go. */
  async function fetchDocuments(report) {
    const docs = await S.records("document");
    const wanted = new Set(docs.map((d) => d.sha256));
    for (const doc of docs) {
      if (await S.db.pdfs.get(doc.sha256)) continue;
      emit({ phase: "documents" });
      try { await documentPdf(doc); report.documents += 1; } catch (e) {
        if (e instanceof NetworkError || e instanceof AuthRequired) throw e;
        report.documentError = e.message;  // a refused or damaged one: the others still come
      }
    }
    await S.db.pdfs.filter((p) => !wanted.has(p.sha256)).delete();
  }

  // --- the whole sync, and when it runs ---------------------------------------------

  let running = null, timer = null, failures = 0;

  /** Push, pull, upload; never throws for network or login trouble (see the report).
      ``{ now: true }`` (the person tapped 立即同步) also sends photos that are waiting out a backoff. */
  function sync(options) {
    if (!running) running = run(options || {}).finally(() => { running = null; });
    return running;
  }

  async function run(options) {
    const report = { pushed: 0, pulled: 0, rejected: 0, conflicts: 0, deferred: 0, uploaded: 0, documents: 0, documentError: null,
                     complete: false, error: null };
    emit({ running: true, phase: "push", done: 0, total: 0 });
    try {
      if (await S.getMeta("auth_required")) throw new AuthRequired("登录已过期，请重新登录");
      await push(report);
      await pull(report);
      await uploadAll(report, options.now);
      const counts = await S.counts();
      if (counts.pending > counts.deferred) { await push(report); await pull(report); }
      await fetchDocuments(report);
      if (report.deferred) {
        report.error = `服务器暂时无法处理 ${report.deferred} 条记录，已保留在本机，稍后自动重发`;
        await S.setMeta({ last_error: report.error });
      } else {
        report.complete = true;
        await S.setMeta({ last_sync_at: new Date().toISOString(), last_error: report.documentError || null });
      }
    } catch (e) {
      if (e instanceof AuthRequired) {
        report.error = "需要重新登录：" + e.message;
        await S.setMeta({ auth_required: true, last_error: report.error });
      } else if (e instanceof NetworkError || e instanceof Refused) {
        report.error = e.message || "网络不可用";
        await S.setMeta({ last_error: report.error });
      } else {
        report.error = String(e && e.message || e);
        await S.setMeta({ last_error: report.error });
      }
    }
    const counts = await S.counts();
    failures = report.complete && !counts.uploadsWaiting ? 0 : failures + 1;
    emit({ running: false, phase: "", lastReport: report });
    schedule();
    return report;
  }

  /** The next automatic try: soon after a failure, doubling up to 5 minutes; every 5 minutes otherwise. */
  function schedule() {
    clearTimeout(timer);
    const delay = failures ? Math.min(300000, 5000 * 2 ** Math.min(failures - 1, 6)) * (0.5 + Math.random() / 2) : 300000;
    state.nextAttemptAt = Date.now() + delay;
    timer = setTimeout(() => { if (navigator.onLine) sync(); else schedule(); }, delay);
  }

  function start() {
    window.addEventListener("online", () => { failures = 0; sync(); });
    schedule();
  }

  window.FC = window.FC || {};
  window.FC.sync = { sync, login, start, state, documentPdf, onChange: (fn) => listeners.add(fn), NetworkError, AuthRequired, Refused };
})();
