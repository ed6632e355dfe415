/* The checks the phone makes before it queues a write. The rules and their messages are the server's
   (schemas/identifiers.py, schemas/hazards.py, schemas/inspections.py; the Chinese messages arrive in
   /app/vocab.json, taken from those functions): this file holds only the arithmetic, and
   tests/phone_app/test_rules_parity.py compares it with the Python on the same inputs. */
(function () {
  "use strict";
  const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const ID_CHECK = "10X98765432";

  function normalizeIdNumber(number) {
    return String(number || "").trim().replace(/ /g, "").toUpperCase();
  }

  /** GB 11643: 17 digits, a real birth date, and the mod-11 check character. */
  function isValidIdNumber(number) {
    const n = normalizeIdNumber(number);
    if (!/^\d{17}[\dX]$/.test(n)) return false;
    const y = +n.slice(6, 10), m = +n.slice(10, 12), d = +n.slice(12, 14);
    const date = new Date(Date.UTC(y, m - 1, d));
    if (y < 1 || date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return false;
    let total = 0;
    for (let i = 0; i < 17; i++) total += (+n[i]) * ID_WEIGHTS[i];
    return ID_CHECK[total % 11] === n[17];
  }

  /** Region and last character only, as the server shows it. */
  function maskIdNumber(number) {
    const n = normalizeIdNumber(number);
    if (n.length <= 7) return "*".repeat(n.length);
    return n.slice(0, 6) + "*".repeat(n.length - 7) + n[n.length - 1];
  }

  /** Why a hazard cannot be queued ({field, key}) or null; ``key`` names a message of vocab.json. */
  function hazardRefusal(h, item, today) {
    if (h.deadline_date < today) return { field: "deadline_date", key: "deadline_date" };
    if (item || !h.checklist_item_id) {
      const major = item ? !!item.is_major_criterion : null;
      if (h.level === "major" && !major) return { field: "checklist_item_id", key: "level_needs_major_item" };
      if (h.level !== "major" && major) return { field: "level", key: "level_must_be_major" };
    }
    if (h.level === "major") {
      const f = h.five_in_place;
      if (!f) return { field: "five_in_place", key: "five_in_place" };
      for (const name of ["responsible_person", "measures", "contingency_plan"]) {
        if (!String(f[name] || "").trim()) return { field: "five_in_place." + name, key: "five_in_place." + name };
      }
      if (f.deadline_date > h.deadline_date) return { field: "five_in_place.deadline_date", key: "five_in_place.deadline_date" };
    }
    return null;
  }

  /** The checklist items (in order) without an outcome. */
  function unanswered(items, results) {
    const answered = new Set(results.filter((r) => r.outcome).map((r) => String(r.item_id)));
    return [...items].sort((a, b) => (a.position || 0) - (b.position || 0)).filter((i) => !answered.has(String(i.id)));
  }

  /** The server's sentence for unanswered items, from its template in vocab.json. */
  function unansweredMessage(template, missing) {
    const shown = missing.slice(0, 10).map((i) => `${i.code} ${i.text}`).join("、") + (missing.length > 10 ? "等" : "");
    return template.replace("{count}", String(missing.length)).replace("{items}", shown);
  }

  async function sha256Hex(data) {
    if (!(window.crypto && crypto.subtle)) {
      // Browsers give SHA-256 only to secure pages: the app must be opened over HTTPS (or on this machine).
      throw new Error("请通过 HTTPS 地址打开本应用，才能为照片计算校验值");
    }
    const buffer = data instanceof Blob ? await data.arrayBuffer() : data;
    const digest = await crypto.subtle.digest("SHA-256", buffer);
    return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  }

  function uuid4() {
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  /** Today in the phone's time zone as YYYY-MM-DD. */
  function localDate(d) {
    const x = d || new Date();
    return `${x.getFullYear()}-${String(x.getMonth() + 1).padStart(2, "0")}-${String(x.getDate()).padStart(2, "0")}`;
  }

  window.FC = window.FC || {};
  window.FC.rules = { normalizeIdNumber, isValidIdNumber, maskIdNumber, hazardRefusal, unanswered, unansweredMessage,
                      sha256Hex, uuid4, localDate };
})();
