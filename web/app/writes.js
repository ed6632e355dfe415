/* What the inspector records: each write is checked (rules.js, the server's rules) and queued with the
   record as it will look, in one IndexedDB transaction, before the screen says it is saved. The same
   writes as sync_client.SyncClient, producing the same mutations (schemas/sync.py MUTATION_TYPES). */
(function () {
  "use strict";
  const S = FC.store, R = FC.rules;

  class Invalid extends Error {
    constructor(field, message) { super(message); this.field = field; }
  }
  let messages = {};
  function setMessages(m) { messages = m || {}; }
  function refuse(refusal) { if (refusal) throw new Invalid(refusal.field, messages[refusal.key] || refusal.key); }

  const now = () => new Date().toISOString();
  async function me() { const u = await S.getMeta("user"); return u ? u.id : null; }

  async function inspection(id) {
    const r = await S.record("inspection", id);
    if (!r || !r.enterprise_id) throw new Invalid("inspection_id", "本机没有这项检查，请先同步");
    return r;
  }
  async function signed(id) {
    const r = await S.record("inspection", id);
    return (r && ["submitted", "reviewed"].includes(r.status)) || (await S.queued("submit_inspection", id));
  }
  async function template(insp) {
    return insp && insp.template_id ? S.record("checklist_template", insp.template_id) : null;
  }

  async function startInspection(id, position) {
    const current = await inspection(id);
    const m = { kind: "start_inspection", inspection_id: id, started_at: now() };
    if (position) { m.longitude = position.longitude; m.latitude = position.latitude; }
    return S.enqueue({
      make: (seq) => ({ ...m, seq }), entityType: "inspection", entityId: id,
      views: [["inspection", id, { ...current, status: "in_progress", started_at: m.started_at }]],
    });
  }

  /** Set the outcome and/or note of one item; only the fields given change (base_version: the server's). */
  async function recordItemResult(inspectionId, itemId, fields) {
    const all = await S.records("item_result");
    const local = all.find((r) => r.inspection_id === inspectionId && r.item_id === itemId);
    const serverAll = (await S.db.records.where("type").equals("item_result").toArray()).map((r) => r.data);
    const server = serverAll.find((r) => r.inspection_id === inspectionId && r.item_id === itemId);
    const given = Object.keys(fields).filter((k) => fields[k] !== undefined);
    if (!given.length) throw new Invalid("outcome", "没有要记录的内容");
    if (!server && !local && !(await signed(inspectionId)) && !given.includes("outcome")) {
      throw new Invalid("outcome", messages.first_result_needs_outcome || "首次记录检查项须填写结果");
    }
    const id = (server || local || {}).id || R.uuid4();
    const base = { kind: "record_item_result", id, inspection_id: inspectionId, item_id: itemId,
                   base_version: server ? server.version ?? 1 : 0 };  // version 1 is omitted on the wire (its default)
    for (const k of given) base[k] = fields[k];
    const user = await me();
    const view = { ...(local || server || { id, inspection_id: inspectionId, item_id: itemId, note: "", version: 0 }) };
    for (const k of given) view[k] = fields[k];
    view.updated_by = user;
    return S.enqueue({ make: (seq) => ({ ...base, seq, recorded_at: now() }), entityType: "inspection", entityId: inspectionId,
                       views: [["item_result", id, view]] });
  }

  async function addHazard(inspectionId, h) {
    const insp = await inspection(inspectionId);
    const tpl = await template(insp);
    const item = h.checklist_item_id ? (tpl ? tpl.items.find((i) => i.id === h.checklist_item_id) : null) : null;
    const hazard = { id: R.uuid4(), inspection_id: inspectionId, level: h.level, description: (h.description || "").trim(),
                     deadline_date: h.deadline_date, found_at: now() };
    if (!hazard.description) throw new Invalid("description", "请填写隐患描述");
    if (!hazard.deadline_date) throw new Invalid("deadline_date", "请选择整改期限");
    if (h.checklist_item_id) hazard.checklist_item_id = h.checklist_item_id;
    if (h.location) hazard.location = h.location;
    if (h.level === "major") {
      const f = h.five_in_place || {};
      hazard.five_in_place = { responsible_person: (f.responsible_person || "").trim(), measures: (f.measures || "").trim(),
                               funds_yuan: Math.max(0, Math.round(Number(f.funds_yuan) || 0)), deadline_date: f.deadline_date || "",
                               contingency_plan: (f.contingency_plan || "").trim() };
      if (!hazard.five_in_place.deadline_date) throw new Invalid("five_in_place.deadline_date", "请选择五落实的整改时限");
    }
    refuse(R.hazardRefusal(hazard, item, R.localDate()));
    const view = { ...hazard, enterprise_id: insp.enterprise_id, status: "found", overdue: false,
                   listed_supervision: h.level === "major", found_by: await me(), evidence_ids: [], version: 0 };
    await S.enqueue({ make: (seq) => ({ kind: "add_hazard", seq, hazard }), entityType: "inspection", entityId: inspectionId,
                      views: [["hazard", hazard.id, view]] });
    return hazard.id;
  }

  async function addViolation(inspectionId, v) {
    const insp = await inspection(inspectionId);
    if (!R.isValidIdNumber(v.id_number)) throw new Invalid("id_number", messages.invalid_id_number);
    const number = R.normalizeIdNumber(v.id_number);
    if (!(v.person_name || "").trim()) throw new Invalid("person_name", "请填写姓名");
    if (!(v.description || "").trim()) throw new Invalid("description", "请填写违章情况");
    const violation = { id: R.uuid4(), inspection_id: inspectionId, person_name: v.person_name.trim(), id_number: number,
                        violation_type: v.violation_type, description: v.description.trim(), post: v.post || "",
                        certificate_required: !!v.certificate_required, certificate_held: v.certificate_held !== false,
                        disposition: v.disposition || "", recorded_at: now() };
    const view = { ...violation, enterprise_id: insp.enterprise_id, person_key: "", id_number_masked: R.maskIdNumber(number),
                   recorded_by: await me(), evidence_ids: [] };
    delete view.id_number;  // the full number lives only in the outbox, never on a screen
    await S.enqueue({ make: (seq) => ({ kind: "add_violation", seq, violation }), entityType: "inspection",
                      entityId: inspectionId, views: [["violation", violation.id, view]] });
    return violation.id;
  }

  /** A photo or the signature: hashed here, recorded, its bytes queued for upload in the same transaction. */
  async function attachEvidence(inspectionId, blob, { kind = "photo", hazardId, violationId, caption, signerName, thumbnail } = {}) {
    await inspection(inspectionId);
    const sha256 = await R.sha256Hex(blob);
    const id = R.uuid4();
    const mediaType = blob.type || "image/jpeg";
    const m = { kind: "attach_evidence", id, evidence_kind: kind, inspection_id: inspectionId, sha256, size: blob.size,
                media_type: mediaType, captured_at: now() };
    if (hazardId) m.hazard_id = hazardId;
    if (violationId) m.violation_id = violationId;
    if (caption) m.caption = caption;
    if (signerName) m.signer_name = signerName;
    const views = [["evidence", id, { ...m, kind, status: "pending", device_id: await S.deviceId(), created_by: await me(),
                                      thumbnail: thumbnail || null }]];
    for (const [type, rid] of [["hazard", hazardId], ["violation", violationId]]) {
      const rec = rid ? await S.record(type, rid) : null;
      if (rec) views.push([type, rid, { ...rec, evidence_ids: [...(rec.evidence_ids || []), id] }]);
    }
    delete views[0][2].evidence_kind;
    // A photo taken after signing is an amendment: it must not hold the submit back (which it needs first).
    const holds = !(await signed(inspectionId));
    await S.enqueue({
      make: (seq) => ({ ...m, seq }), entityType: "inspection", entityId: inspectionId, views,
      upload: { blob, row: { evidenceId: id, inspectionId: holds ? inspectionId : null, sha256, size: blob.size,
                             mediaType, status: "queued", sentBytes: 0, attempts: 0, restarts: 0, nextAttemptAt: 0,
                             code: "", message: "", createdAt: now(), thumbnail: thumbnail || null,
                             label: kind === "signature" ? "签名" : "照片" } },
    });
    return id;
  }

  /** Why the party may not sign this document (the server's sentence: schemas.documents.sign_refusal), or null. */
  async function signRefusal(doc) {
    if (!doc) return new Invalid("document_id", "本机没有这份文书，请先同步");
    if (doc.status === "voided") return new Invalid("document_id", messages.document_voided);
    if (doc.status === "superseded") return new Invalid("document_id", messages.document_superseded);
    const signed = (await S.records("document_signature")).some((s) => s.document_id === doc.id);
    return signed ? new Invalid("document_id", messages.document_signed) : null;
  }

  /** The party signs an on-site document on this phone: the signature image is recorded against the exact PDF
      (the document's SHA-256 as pulled) and its bytes queued for upload, in one transaction; its evidence id. */
  async function signDocument(documentId, blob, { signerName, thumbnail } = {}) {
    const doc = await S.record("document", documentId);
    const refusal = await signRefusal(doc);
    if (refusal) throw refusal;
    if (!(signerName || "").trim()) throw new Invalid("signer_name", "请填写签收人姓名");
    const sha256 = await R.sha256Hex(blob);
    const id = R.uuid4();
    const mediaType = blob.type || "image/png";
    const m = { kind: "sign_document", id, document_id: doc.id, inspection_id: doc.inspection_id,
                document_sha256: doc.sha256, signer_name: signerName.trim(), sha256, size: blob.size,
                media_type: mediaType, signed_at: now() };
    const device = await S.deviceId(), user = await me();
    const views = [
      ["evidence", id, { id, kind: "signature", inspection_id: doc.inspection_id, sha256, size: blob.size, media_type: mediaType,
                         status: "pending", captured_at: m.signed_at, signer_name: m.signer_name, device_id: device,
                         created_by: user, thumbnail: thumbnail || null }],
      ["document_signature", id, { id, document_id: doc.id, inspection_id: doc.inspection_id, document_number: doc.number,
                                   document_sha256: doc.sha256, signer_name: m.signer_name, signed_at: m.signed_at,
                                   recorded_by: user, device_id: device }],
    ];
    await S.enqueue({
      make: (seq) => ({ ...m, seq }), entityType: "inspection", entityId: doc.inspection_id, views,
      upload: { blob, row: { evidenceId: id, inspectionId: null, sha256, size: blob.size, mediaType, status: "queued",
                             sentBytes: 0, attempts: 0, restarts: 0, nextAttemptAt: 0, code: "", message: "",
                             createdAt: now(), thumbnail: thumbnail || null, label: `签收 ${doc.number}` } },
    });
    return id;
  }

  /** Why the check cannot be signed yet (the server's sentence), or null. */
  async function unansweredRefusal(inspectionId) {
    const insp = await inspection(inspectionId);
    const tpl = await template(insp);
    if (!tpl) return null;
    const results = (await S.records("item_result")).filter((r) => r.inspection_id === inspectionId);
    const missing = R.unanswered(tpl.items, results);
    return missing.length ? new Invalid("items", R.unansweredMessage(messages.items_unanswered, missing)) : null;
  }

  async function submitInspection(inspectionId, { summary = "", signedByName = "", signatureEvidenceId } = {}) {
    const current = await inspection(inspectionId);
    const refusal = await unansweredRefusal(inspectionId);
    if (refusal) throw refusal;
    const m = { kind: "submit_inspection", inspection_id: inspectionId, summary, signed_by_name: signedByName, submitted_at: now() };
    if (signatureEvidenceId) m.signature_evidence_id = signatureEvidenceId;
    return S.enqueue({ make: (seq) => ({ ...m, seq }), entityType: "inspection", entityId: inspectionId,
                       views: [["inspection", inspectionId, { ...current, status: "submitted", submitted_at: m.submitted_at,
                                                              summary, signed_by_name: signedByName }]] });
  }

  async function addNote(inspectionId, text) {
    if (!(text || "").trim()) throw new Invalid("text", "请填写内容");
    const id = R.uuid4();
    const m = { kind: "add_note", id, inspection_id: inspectionId, text: text.trim(), created_at: now() };
    const locked = await signed(inspectionId);
    return S.enqueue({ make: (seq) => ({ ...m, seq }), entityType: "inspection", entityId: inspectionId,
                       views: [["amendment", id, { id, inspection_id: inspectionId, author_id: await me(), text: m.text,
                                                   payload: { kind: locked ? "amendment" : "note" }, created_at: m.created_at }]] });
  }

  async function reportRecheck(recheckId, { passed, note = "", newDeadlineDate } = {}) {
    const current = await S.record("recheck", recheckId);
    const result = { passed: !!passed, note, evidence_ids: [], checked_at: now() };
    if (newDeadlineDate) result.new_deadline_date = newDeadlineDate;
    const views = current ? [["recheck", recheckId, { ...current, status: passed ? "passed" : "failed", note,
                                                      checked_by: await me(), checked_at: result.checked_at }]] : [];
    return S.enqueue({ make: (seq) => ({ kind: "report_recheck", seq, recheck_id: recheckId, result }),
                       entityType: "recheck", entityId: recheckId, views });
  }

  window.FC = window.FC || {};
  window.FC.writes = { Invalid, setMessages, startInspection, recordItemResult, addHazard, addViolation, attachEvidence,
                       unansweredRefusal, submitInspection, addNote, reportRecheck, signRefusal, signDocument };
})();
