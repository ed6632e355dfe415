/* The phone's IndexedDB (Dexie): the replica of what the server shows, the outbox, and the photo queue.
   The same tables as sync_client/_store.py and _uploads.py (see docs/sync-protocol.md):

   meta      device id, next seq, tokens, user, last sync time, last error, auth_required
   records   the server's state of each record, with the scopes it arrived through
   cursors   the pull cursor of each scope
   outbox    mutations not yet answered, by device seq, each naming what holds it on the phone
             (entityType/entityId: its inspection) and the record it writes (recordType/recordId)
   local     what local writes made a record look like, until the server's state arrives
   outcomes  rejections and conflicts kept for the person (content kept), and why a mutation is deferred
   uploads   one row per photo or signature, with its status; blobs holds the bytes until verified
   pdfs      the PDFs of the on-site documents held here, by SHA-256 (checked against the pulled record),
             so a document opens and prints with no network once fetched

   Every write and its outbox entry are one IndexedDB transaction: when enqueue() resolves, it is on disk. */
(function () {
  "use strict";
  const db = new Dexie("fieldcheck");
  db.version(1).stores({
    meta: "key",
    records: "[type+id], type, *scopes",
    cursors: "scope",
    outbox: "seq, [entityType+entityId], [recordType+recordId], kind",
    local: "[type+id], type, seq",
    outcomes: "seq, outcome",
    uploads: "evidenceId, status, inspectionId, sha256",
    blobs: "sha256",
  });
  db.version(2).stores({ pdfs: "sha256, documentId" });
  /** Mutations whose evidence bytes go through the photo queue (the outcome names the evidence record). */
  const EVIDENCE_KINDS = new Set(["attach_evidence", "sign_document"]);

  async function getMeta(key, fallback) {
    const row = await db.meta.get(key);
    return row === undefined ? fallback : row.value;
  }
  async function setMeta(values) {
    await db.transaction("rw", db.meta, async () => {
      for (const [key, value] of Object.entries(values)) await db.meta.put({ key, value });
    });
  }

  /** The device id, made once and kept for the life of this install. */
  async function deviceId() {
    return db.transaction("rw", db.meta, async () => {
      let id = await getMeta("device_id");
      if (!id) {
        id = FC.rules.uuid4();
        await db.meta.put({ key: "device_id", value: id });
        await db.meta.put({ key: "next_seq", value: 1 });
      }
      return id;
    });
  }

  /** Queue one mutation with its local views (and a photo's bytes) in one transaction; its seq.
      ``make(seq)`` is the mutation; ``views`` [[type, id, record]]; ``upload`` {row, blob} for evidence. */
  async function enqueue({ make, entityType, entityId, views = [], record, upload }) {
    return db.transaction("rw", [db.meta, db.outbox, db.local, db.uploads, db.blobs], async () => {
      const seq = (await getMeta("next_seq")) || 1;
      const mutation = make(seq);
      const target = record || (views.length ? [views[0][0], views[0][1]] : [entityType, entityId]);
      await db.outbox.add({ seq, kind: mutation.kind, entityType, entityId: String(entityId), payload: mutation,
                            createdAt: new Date().toISOString(), attempts: 0, recordType: target[0],
                            recordId: String(target[1]) });
      for (const [type, id, data] of views) await db.local.put({ type, id: String(id), data, seq });
      if (upload) {
        await db.uploads.put(upload.row);
        if (!(await db.blobs.get(upload.row.sha256))) await db.blobs.put({ sha256: upload.row.sha256, blob: upload.blob });
      }
      await db.meta.put({ key: "next_seq", value: seq + 1 });
      return seq;
    });
  }

  /** Every record of a type as the phone shows it: local writes over the server's state. */
  async function records(type) {
    const rows = new Map();
    for (const r of await db.records.where("type").equals(type).toArray()) rows.set(r.id, r.data);
    for (const r of await db.local.where("type").equals(type).toArray()) rows.set(r.id, r.data);
    return [...rows.values()];
  }
  async function record(type, id) {
    const local = await db.local.get([type, String(id)]);
    if (local) return local.data;
    const server = await db.records.get([type, String(id)]);
    return server ? server.data : null;
  }
  async function serverRecord(type, id) {
    const row = await db.records.get([type, String(id)]);
    return row ? row.data : null;
  }

  async function pending(limit, afterSeq) {
    return db.outbox.where("seq").above(afterSeq || 0).limit(limit).toArray();
  }
  async function queued(kind, entityId) {
    return (await db.outbox.where("kind").equals(kind).filter((e) => e.entityId === String(entityId)).count()) > 0;
  }

  /** Settle push answers [{seq, outcome, code, message, field, detail}]: as sync_client's Store.settle. */
  async function settle(answers) {
    let settled = 0;
    await db.transaction("rw", [db.outbox, db.outcomes, db.local], async () => {
      for (const a of answers) {
        const entry = await db.outbox.get(a.seq);
        if (!entry) continue;  // a duplicated answer
        const at = new Date().toISOString();
        if (a.outcome === "deferred") {
          await db.outcomes.put({ seq: a.seq, kind: entry.kind, outcome: "deferred", code: a.code, message: a.message,
                                  at, recordType: entry.recordType, recordId: entry.recordId });
          continue;
        }
        settled += 1;
        await db.outbox.delete(a.seq);
        if (a.outcome === "applied") {
          await db.outcomes.delete(a.seq);
          continue;
        }
        let recordType = entry.recordType, recordId = entry.recordId;
        if (a.detail && a.detail.entity_id) { recordType = a.detail.entity_type || recordType; recordId = a.detail.entity_id; }
        const view = await db.local.get([recordType, recordId]);
        await db.outcomes.put({ seq: a.seq, kind: entry.kind, outcome: a.outcome, code: a.code, message: a.message,
                                field: a.field, detail: a.detail || null, at, recordType, recordId,
                                payload: entry.payload, view: view && view.seq === a.seq ? view.data : null,
                                entityType: entry.entityType, entityId: entry.entityId, acknowledgedAt: null });
      }
    });
    return settled;
  }

  /** Store one pull page and its cursors atomically (as sync_client's Store.apply_page). */
  async function applyPage(page) {
    await db.transaction("rw", [db.records, db.cursors, db.outbox], async () => {
      const candidates = new Map();
      for (const scope of page.dropped_scopes || []) {
        for (const r of await db.records.where("scopes").equals(scope).toArray()) {
          r.scopes = r.scopes.filter((s) => s !== scope);
          await db.records.put(r);
          candidates.set(r.type + "|" + r.id, [r.type, r.id]);
        }
        await db.cursors.delete(scope);
      }
      for (const change of page.changes) {
        const [op, seq, scope, type, id] = change;
        const current = await db.records.get([type, id]);
        if (op === "put") {
          const scopes = new Set(current ? current.scopes : []);
          scopes.add(scope);
          const newer = !current || seq >= current.seq;
          await db.records.put({ type, id, data: newer ? change[5] : current.data, seq: newer ? seq : current.seq,
                                 scopes: [...scopes] });
        } else if (current) {
          current.scopes = current.scopes.filter((s) => s !== scope);
          await db.records.put(current);
          candidates.set(type + "|" + id, [type, id]);
        }
      }
      for (const [scope, seq] of Object.entries(page.cursors)) await db.cursors.put({ scope, seq });
      for (const [type, id] of candidates.values()) {
        const r = await db.records.get([type, id]);
        const held = await db.outbox.where("[entityType+entityId]").equals([type, id]).count();
        if (r && r.scopes.length === 0 && !held) await db.records.delete([type, id]);
      }
    });
  }

  /** After a complete pull: local views of answered mutations give way to the server's state. */
  async function finishPull() {
    await db.transaction("rw", [db.local, db.outbox, db.records], async () => {
      const live = new Set(await db.outbox.toCollection().primaryKeys());
      await db.local.filter((l) => !live.has(l.seq)).delete();
      const orphans = await db.records.filter((r) => r.scopes.length === 0).toArray();
      for (const r of orphans) {
        if (!(await db.outbox.where("[entityType+entityId]").equals([r.type, r.id]).count())) await db.records.delete([r.type, r.id]);
      }
    });
  }

  async function cursors() {
    const out = {};
    for (const c of await db.cursors.toArray()) out[c.scope] = c.seq;
    return out;
  }

  async function outcomes(includeAcknowledged) {
    const rows = await db.outcomes.orderBy("seq").toArray();
    return rows.filter((o) => includeAcknowledged || !o.acknowledgedAt);
  }
  async function acknowledge(seq) {
    await db.outcomes.update(seq, { acknowledgedAt: new Date().toISOString() });
  }

  /** A rejected mutation again under a new seq: as it was, or ``fixed`` (its content with the person's corrections). */
  async function requeue(seq, fixed) {
    return db.transaction("rw", [db.meta, db.outbox, db.outcomes, db.local, db.uploads], async () => {
      const kept = await db.outcomes.get(seq);
      if (!kept || kept.outcome !== "rejected" || !kept.payload) return null;
      const newSeq = (await getMeta("next_seq")) || 1;
      const payload = { ...(fixed || kept.payload), seq: newSeq, kind: kept.kind };
      await db.outbox.add({ seq: newSeq, kind: kept.kind, entityType: kept.entityType, entityId: kept.entityId, payload,
                            createdAt: new Date().toISOString(), attempts: 0, recordType: kept.recordType,
                            recordId: kept.recordId });
      if (kept.view) await db.local.put({ type: kept.recordType, id: kept.recordId, data: kept.view, seq: newSeq });
      if (EVIDENCE_KINDS.has(kept.kind)) {
        await db.uploads.where("evidenceId").equals(kept.recordId).modify({ status: "queued", attempts: 0, nextAttemptAt: 0,
                                                                             code: "", message: "" });
      }
      await db.outcomes.delete(seq);
      await db.meta.put({ key: "next_seq", value: newSeq + 1 });
      return newSeq;
    });
  }

  /** Give up a kept answer (its content goes) or a queued mutation (with its local view). */
  async function discard(seq) {
    await db.transaction("rw", [db.outbox, db.outcomes, db.local, db.uploads, db.blobs], async () => {
      const entry = await db.outbox.get(seq);
      const kept = await db.outcomes.get(seq);
      const photo = (entry && EVIDENCE_KINDS.has(entry.kind) && entry.recordId) ||
                    (kept && EVIDENCE_KINDS.has(kept.kind) && kept.recordId);
      if (entry) { await db.outbox.delete(seq); await db.local.where("seq").equals(seq).delete(); }
      await db.outcomes.delete(seq);
      if (photo) {
        const row = await db.uploads.get(photo);
        if (row && row.status !== "done") {
          await db.uploads.delete(photo);
          if (!(await db.uploads.where("sha256").equals(row.sha256).count())) await db.blobs.delete(row.sha256);
        }
      }
    });
  }

  async function counts() {
    const outbox = await db.outbox.count();
    const deferred = (await db.outcomes.where("outcome").equals("deferred").toArray()).length;
    const uploadRows = await db.uploads.toArray();
    return {
      pending: outbox, deferred,
      uploadsWaiting: uploadRows.filter((u) => u.status === "queued" || u.status === "uploading").length,
      uploadsFailed: uploadRows.filter((u) => u.status === "failed").length,
    };
  }

  /** Forget everything of this user but the device id and seq counter (a different user logs in here). */
  async function clearReplica() {
    await db.transaction("rw", [db.records, db.cursors, db.local, db.outcomes], async () => {
      await db.records.clear(); await db.cursors.clear(); await db.local.clear(); await db.outcomes.clear();
    });
  }

  window.FC = window.FC || {};
  window.FC.store = { db, getMeta, setMeta, deviceId, enqueue, records, record, serverRecord, pending, queued, settle,
                      applyPage, finishPull, cursors, outcomes, acknowledge, requeue, discard, counts, clearReplica,
                      EVIDENCE_KINDS };
})();
