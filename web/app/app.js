/* The screens (Vue 3 + Vant 4, no build step): login, my tasks, a check and its checklist, hazard, 三违,
   signature and submit, recheck, the on-site documents (view, print, the party's signature), and the sync screen. Every screen reads the replica (store.js); every
   button that records something awaits writes.js, which has stored it before the toast says 已保存. */
(function () {
  "use strict";
  const { createApp, reactive, computed, ref, onMounted, nextTick, watch } = Vue;
  const S = FC.store, W = FC.writes, R = FC.rules, SY = FC.sync;

  const KIND_LABEL = { start_inspection: "开始检查", record_item_result: "检查项结果", submit_inspection: "签字提交",
    add_note: "补充说明", add_hazard: "登记隐患", report_rectification: "整改报告", report_recheck: "复查结果",
    add_violation: "记录三违", propose_enforcement: "执法建议", attach_evidence: "照片/签名", sign_document: "文书签收" };
  const FIELD_LABEL = { description: "描述", location: "位置", deadline_date: "整改期限", level: "等级",
    responsible_person: "责任人", measures: "整改措施", funds_yuan: "资金（元）", contingency_plan: "应急预案",
    person_name: "姓名", id_number: "身份证号码", post: "岗位", disposition: "处理意见", note: "备注", text: "内容",
    summary: "检查小结", signed_by_name: "签字人", signer_name: "签收人", caption: "说明", outcome: "结果", violation_type: "违章类型" };
  const NOT_EDITABLE = /(^|_)(id|seq|kind|at|sha256|size|version|media_type|evidence_kind|violation_type|level|outcome)$/;

  const vocab = reactive({ labels: {}, messages: {}, timezone: "Asia/Shanghai" });
  const label = (group, value) => (vocab.labels[group] || {})[value] || value || "";

  const data = reactive({ user: null, inspections: [], enterprises: {}, templates: {}, results: [], hazards: [],
    violations: [], evidence: [], rechecks: [], documents: [], signatures: [], keptPdfs: [], uploads: [], outbox: [], outcomes: [], counts: {}, meta: {},
    online: navigator.onLine, loaded: false });
  const route = reactive({ path: location.hash.slice(1) || "/tasks" });
  window.addEventListener("hashchange", () => { route.path = location.hash.slice(1) || "/tasks"; window.scrollTo(0, 0); });
  const go = (path) => { location.hash = path; };

  async function reload() {
    const byId = (rows) => Object.fromEntries(rows.map((r) => [r.id, r]));
    data.user = await S.getMeta("user", null);
    data.inspections = await S.records("inspection");
    data.enterprises = byId(await S.records("enterprise"));
    data.templates = byId(await S.records("checklist_template"));
    data.results = await S.records("item_result");
    data.hazards = await S.records("hazard");
    data.violations = await S.records("violation");
    data.evidence = await S.records("evidence");
    data.rechecks = await S.records("recheck");
    data.documents = await S.records("document");
    data.signatures = await S.records("document_signature");
    data.keptPdfs = await S.db.pdfs.toCollection().primaryKeys();
    data.uploads = await S.db.uploads.toArray();
    data.outbox = await S.db.outbox.orderBy("seq").toArray();
    data.outcomes = await S.outcomes(false);
    data.counts = await S.counts();
    data.meta = { last_sync_at: await S.getMeta("last_sync_at"), last_error: await S.getMeta("last_error"),
                  auth_required: !!(await S.getMeta("auth_required")) };
    data.loaded = true;
  }

  function saved(text) { vant.showToast({ message: text || "已保存到本机", position: "bottom", duration: 1200 }); }
  function failed(e) {
    if (e instanceof W.Invalid || e instanceof SY.Refused) vant.showDialog({ title: "无法保存", message: e.message });
    else { console.error(e); vant.showDialog({ title: "出错了", message: String(e && e.message || e) }); }
  }
  // Times in the bureau's time zone (FIELDCHECK_TIMEZONE, from vocab.json), whatever zone the phone is set to.
  const when = (iso) => iso ? new Date(iso).toLocaleString("zh-CN", { hour12: false, timeZone: vocab.timezone }) : "";

  async function thumbnailOf(blob) {
    try {
      const bitmap = await createImageBitmap(blob);
      const scale = Math.min(1, 240 / Math.max(bitmap.width, bitmap.height));
      const canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale); canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return canvas.toDataURL("image/jpeg", 0.7);
    } catch (e) { return null; }
  }

  /** A document's status as shown: label and tag colour. */
  const DOC_STATUS = { issued: ["有效", "success"], voided: ["已作废", "danger"], superseded: ["已被更正", "warning"] };
  const signatureOf = (doc) => data.signatures.find((s) => s.document_id === doc.id) || null;

  // --- shared pieces ------------------------------------------------------------------

  const SyncBadge = {
    setup() {
      const waiting = computed(() => (data.counts.pending || 0) + (data.counts.uploadsWaiting || 0));
      return { data, waiting, sync: SY.state, go };
    },
    template: `<span class="sync-badge" data-testid="sync-badge" @click="go('/sync')">
      <span v-if="!data.online" class="off" data-testid="offline">离线{{ waiting ? ' · ' + waiting + ' 待传' : '' }}</span>
      <span v-else-if="data.meta.auth_required" class="bad">需登录</span>
      <span v-else-if="data.outcomes.length" class="bad">{{ data.outcomes.length }} 条待处理</span>
      <span v-else-if="waiting" class="wait">{{ waiting }} 待上传</span>
      <span v-else class="ok">已同步</span></span>`,
  };

  const PhotoStrip = {
    props: ["ids"],
    setup(props) {
      const shots = computed(() => (props.ids || []).map((id) => {
        const up = data.uploads.find((u) => u.evidenceId === id);
        return { id, thumb: up && up.thumbnail, status: up ? up.status : "done" };
      }));
      return { shots };
    },
    template: `<div class="photos" v-if="shots.length"><div v-for="s in shots" :key="s.id" class="photo" :data-evidence="s.id">
      <img v-if="s.thumb" :src="s.thumb" alt="照片"><span v-else class="ph">照片</span>
      <em :class="s.status">{{ s.status === 'done' ? '已上传' : s.status === 'failed' ? '失败' : '待上传' }}</em></div></div>`,
  };

  // --- screens ------------------------------------------------------------------------

  const LoginScreen = {
    setup() {
      const form = reactive({ username: (data.user && data.user.username) || "", password: "" });
      const busy = ref(false);
      async function submit() {
        if (!navigator.onLine) { vant.showDialog({ title: "需要联网", message: "登录需要连接到局里的服务器；登录后可离线工作。" }); return; }
        busy.value = true;
        try {
          await SY.login(form.username.trim(), form.password);
          await reload();
          go("/tasks");
          SY.sync();
        } catch (e) { failed(e); } finally { busy.value = false; }
      }
      return { form, busy, submit, data };
    },
    template: `<div class="login">
      <div class="brand"><img src="/app/icons/icon.svg" alt=""><h1>安全生产执法检查</h1><p>应急管理局 · 现场检查</p></div>
      <van-notice-bar v-if="data.meta.auth_required" wrapable color="#b42318" background="#fef3f2"
        text="登录已过期，同步已暂停；本机记录都还在，重新登录后自动上传。" />
      <van-cell-group inset>
        <van-field v-model="form.username" name="username" label="账号" placeholder="执法人员账号" autocomplete="username" />
        <van-field v-model="form.password" name="password" type="password" label="密码" placeholder="密码"
          autocomplete="current-password" @keyup.enter="submit" />
      </van-cell-group>
      <div class="pad"><van-button type="primary" block round :loading="busy" data-testid="login" @click="submit">登录</van-button></div>
      <p class="hint">首次登录需联网，本机从此登记为您的执法终端；之后无网络也能检查，联网自动同步。</p></div>`,
  };

  function progressOf(insp) {
    const tpl = data.templates[insp.template_id];
    if (!tpl) return { done: 0, total: 0 };
    const answered = new Set(data.results.filter((r) => r.inspection_id === insp.id && r.outcome).map((r) => r.item_id));
    return { done: tpl.items.filter((i) => answered.has(i.id)).length, total: tpl.items.length };
  }

  const TasksScreen = {
    components: { SyncBadge },
    setup() {
      const mine = (i) => !data.user || (i.inspector_ids || []).includes(data.user.id);
      const open = computed(() => data.inspections.filter((i) => mine(i) && ["planned", "in_progress"].includes(i.status))
        .sort((a, b) => String(a.planned_date || "").localeCompare(String(b.planned_date || ""))));
      const done = computed(() => data.inspections.filter((i) => mine(i) && ["submitted", "reviewed"].includes(i.status)));
      const rechecks = computed(() => data.rechecks.filter((r) => r.status === "pending" &&
        (!data.user || (r.assignee_ids || []).includes(data.user.id))));
      const hazardOf = (id) => data.hazards.find((h) => h.id === id) || {};
      const refreshing = ref(false);
      async function syncNow() { await SY.sync({ now: true }); await reload(); refreshing.value = false; }
      return { data, open, done, rechecks, hazardOf, label, go, progressOf, syncNow, refreshing };
    },
    template: `<div>
      <van-nav-bar title="我的任务" fixed placeholder><template #right><sync-badge /></template></van-nav-bar>
      <van-pull-refresh v-model="refreshing" @refresh="syncNow" pulling-text="下拉同步" loosing-text="松开同步" loading-text="同步中…">
      <div class="who" v-if="data.user">{{ data.user.display_name }} · {{ label('Role', data.user.role) }}</div>
      <van-empty v-if="!open.length && !rechecks.length" description="暂无待检查任务（联网后下拉同步）" />
      <div class="section" v-if="open.length">待检查 {{ open.length }}</div>
      <div v-for="i in open" :key="i.id" class="task" :data-inspection="i.id" @click="go('/i/' + i.id)">
        <div class="task-top"><b>{{ (data.enterprises[i.enterprise_id] || {}).name || '（企业信息待同步）' }}</b>
          <van-tag :type="i.kind === 'covert' ? 'danger' : 'primary'" plain>{{ label('InspectionKind', i.kind) }}</van-tag></div>
        <div class="addr">{{ label('District', (data.enterprises[i.enterprise_id] || {}).district) }} · {{ (data.enterprises[i.enterprise_id] || {}).address }}</div>
        <div class="meta"><span>计划 {{ i.planned_date || '—' }}</span>
          <span :class="i.status">{{ label('InspectionStatus', i.status) }}</span>
          <span v-if="progressOf(i).total">已查 {{ progressOf(i).done }}/{{ progressOf(i).total }}</span></div>
      </div>
      <div class="section" v-if="rechecks.length">复查任务 {{ rechecks.length }}</div>
      <div v-for="r in rechecks" :key="r.id" class="task" :data-recheck="r.id" @click="go('/r/' + r.id)">
        <div class="task-top"><b>{{ (data.enterprises[r.enterprise_id] || {}).name || '企业' }}</b><van-tag type="warning" plain>回头看复查</van-tag></div>
        <div class="addr">{{ hazardOf(r.hazard_id).description || '隐患复查' }}</div>
        <div class="meta"><span>期限 {{ r.due_date || '—' }}</span></div>
      </div>
      <div class="section" v-if="done.length">已提交 {{ done.length }}</div>
      <div v-for="i in done" :key="i.id" class="task done" :data-inspection="i.id" @click="go('/i/' + i.id)">
        <div class="task-top"><b>{{ (data.enterprises[i.enterprise_id] || {}).name }}</b><span class="submitted">{{ label('InspectionStatus', i.status) }}</span></div>
      </div>
      </van-pull-refresh></div>`,
  };

  const InspectionScreen = {
    props: ["id"],
    components: { SyncBadge, PhotoStrip },
    setup(props) {
      const insp = computed(() => data.inspections.find((i) => i.id === props.id));
      const ent = computed(() => insp.value ? data.enterprises[insp.value.enterprise_id] || {} : {});
      const tpl = computed(() => insp.value ? data.templates[insp.value.template_id] : null);
      const items = computed(() => tpl.value ? [...tpl.value.items].sort((a, b) => a.position - b.position) : []);
      const resultOf = (item) => data.results.find((r) => r.inspection_id === props.id && r.item_id === item.id) || {};
      const locked = computed(() => insp.value && ["submitted", "reviewed"].includes(insp.value.status));
      const notes = reactive({});
      watch(items, () => { for (const i of items.value) if (!(i.id in notes)) notes[i.id] = resultOf(i).note || ""; }, { immediate: true });
      const hazards = computed(() => data.hazards.filter((h) => h.inspection_id === props.id));
      const violations = computed(() => data.violations.filter((v) => v.inspection_id === props.id));
      const photos = computed(() => data.evidence.filter((e) => e.inspection_id === props.id && e.kind === "photo"
        && !e.hazard_id && !e.violation_id).map((e) => e.id));
      const progress = computed(() => insp.value ? progressOf(insp.value) : { done: 0, total: 0 });
      const documents = computed(() => data.documents.filter((d) => d.inspection_id === props.id)
        .sort((a, b) => String(a.issued_at).localeCompare(String(b.issued_at))));
      const camera = ref(null);

      async function start() {
        try { await W.startInspection(props.id); await reload(); saved("已开始检查（已保存到本机）"); } catch (e) { failed(e); }
      }
      async function answer(item, outcome) {
        if (locked.value) return;
        try {
          if (insp.value.status === "planned") await W.startInspection(props.id);
          const fields = { outcome };
          const note = notes[item.id] || "";
          if (note !== (resultOf(item).note || "")) fields.note = note;
          await W.recordItemResult(props.id, item.id, fields);
          await reload();
          saved();
        } catch (e) { failed(e); }
      }
      async function saveNote(item) {
        const note = notes[item.id] || "";
        if (locked.value || note === (resultOf(item).note || "")) return;
        if (!resultOf(item).outcome) return;  // kept in the field; saved with the outcome when it is tapped
        try { await W.recordItemResult(props.id, item.id, { note }); await reload(); saved("备注已保存到本机"); } catch (e) { failed(e); }
      }
      async function takePhoto(event) {
        const files = [...event.target.files];
        event.target.value = "";
        try {
          for (const file of files) await W.attachEvidence(props.id, file, { thumbnail: await thumbnailOf(file) });
          await reload();
          saved(`${files.length} 张照片已保存到本机`);
        } catch (e) { failed(e); }
      }
      const hazardsOf = (item) => hazards.value.filter((h) => h.checklist_item_id === item.id);
      return { data, insp, ent, tpl, items, resultOf, locked, notes, hazards, violations, photos, progress, camera,
               start, answer, saveNote, takePhoto, hazardsOf, label, go, documents, signatureOf, DOC_STATUS };
    },
    template: `<div v-if="insp" class="inspection">
      <van-nav-bar :title="label('InspectionKind', insp.kind) || '现场检查'" left-arrow @click-left="go('/tasks')" fixed placeholder>
        <template #right><sync-badge /></template></van-nav-bar>
      <div class="ent-card">
        <div class="ent-name">{{ ent.name }}</div>
        <div class="addr">{{ label('District', ent.district) }} · {{ ent.address }}</div>
        <div class="meta"><van-tag :type="insp.kind === 'covert' ? 'danger' : 'primary'" plain>{{ label('InspectionKind', insp.kind) }}</van-tag>
          <span>{{ label('Sector', ent.sector) }}</span><span v-if="ent.contact_name">联系人 {{ ent.contact_name }} {{ ent.contact_phone }}</span></div>
        <div class="tpl" v-if="tpl">{{ tpl.title }} <small>{{ tpl.basis }}</small></div>
        <van-progress v-if="progress.total" :percentage="Math.round(100 * progress.done / progress.total)" :pivot-text="progress.done + '/' + progress.total" />
      </div>
      <van-notice-bar v-if="locked" wrapable left-icon="lock" text="已签字提交，检查内容已锁定；之后补充的照片与说明作为补充记录提交。" />
      <div v-if="insp.status === 'planned'" class="pad"><van-button type="primary" block round data-testid="start" @click="start">开始检查</van-button></div>
      <div v-if="!tpl" class="pad"><van-empty description="检查表待同步" /></div>
      <div v-for="item in items" :key="item.id" class="item" :data-item="item.id" :data-outcome="resultOf(item).outcome || ''">
        <div class="item-head"><span class="code">{{ item.code }}</span><span class="cat">{{ item.category }}</span>
          <van-tag v-if="item.is_major_criterion" type="danger">重大事故隐患判定项</van-tag></div>
        <div class="item-text">{{ item.text }}</div>
        <div class="basis" v-if="item.legal_basis">依据：{{ item.legal_basis }}</div>
        <div class="outcomes">
          <button v-for="o in ['pass', 'fail', 'not_applicable']" :key="o" :class="['oc', o, { on: resultOf(item).outcome === o }]"
            :disabled="locked" :data-answer="o" @click="answer(item, o)">{{ label('ItemOutcome', o) }}</button>
        </div>
        <van-field v-model="notes[item.id]" class="note" rows="1" autosize type="textarea" placeholder="备注（可选，随结果保存）"
          :disabled="locked" @blur="saveNote(item)" />
        <div v-if="resultOf(item).outcome === 'fail'" class="fail-row">
          <div v-for="h in hazardsOf(item)" :key="h.id" class="hz" :data-hazard="h.id">
            <van-tag :type="h.level === 'major' ? 'danger' : 'warning'">{{ label('HazardLevel', h.level) }}</van-tag> {{ h.description }}</div>
          <van-button size="small" type="danger" plain icon="warning-o" :data-hazard-for="item.id"
            @click="go('/i/' + insp.id + '/hazard/' + item.id)">登记隐患</van-button>
        </div>
      </div>
      <div class="section" v-if="hazards.length || violations.length">本次记录</div>
      <div v-for="h in hazards" :key="h.id" class="rec" :data-hazard="h.id">
        <van-tag :type="h.level === 'major' ? 'danger' : 'warning'">{{ label('HazardLevel', h.level) }}</van-tag>
        {{ h.description }} <small>整改期限 {{ h.deadline_date }}</small><photo-strip :ids="h.evidence_ids" /></div>
      <div v-for="v in violations" :key="v.id" class="rec" :data-violation="v.id">
        <van-tag type="warning">三违</van-tag> {{ v.person_name }} <span class="mono" data-testid="masked-id">{{ v.id_number_masked }}</span>
        {{ label('ViolationType', v.violation_type) }}：{{ v.description }}</div>
      <div class="section" v-if="photos.length">现场照片</div>
      <photo-strip :ids="photos" />
      <div class="section" v-if="documents.length">执法文书 {{ documents.length }}</div>
      <div v-for="d in documents" :key="d.id" class="rec doc" :data-document="d.id" @click="go('/i/' + insp.id + '/doc/' + d.id)">
        <van-tag :type="DOC_STATUS[d.status][1]" plain>{{ DOC_STATUS[d.status][0] }}</van-tag> <b>{{ d.title }}</b>
        <div class="mono">{{ d.number }}</div>
        <small v-if="signatureOf(d)" class="signed">当事人已签收：{{ signatureOf(d).signer_name }}</small>
        <small v-else-if="d.status === 'issued'">待当事人签收</small></div>
      <div class="bottom-space"></div>
      <div class="action-bar">
        <button data-testid="add-violation" @click="go('/i/' + insp.id + '/violation')" :disabled="locked">三违</button>
        <label class="cam" data-testid="take-photo">拍照<input ref="camera" type="file" accept="image/*" capture="environment"
          multiple data-testid="photo-input" @change="takePhoto"></label>
        <button class="primary" data-testid="go-sign" :disabled="locked" @click="go('/i/' + insp.id + '/sign')">签字提交</button>
      </div></div>
      <van-empty v-else description="本机没有这项检查" />`,
  };

  const HazardScreen = {
    props: ["id", "item"],
    setup(props) {
      const insp = computed(() => data.inspections.find((i) => i.id === props.id));
      const tpl = computed(() => insp.value ? data.templates[insp.value.template_id] : null);
      const item = computed(() => tpl.value && props.item !== "-" ? tpl.value.items.find((i) => i.id === props.item) : null);
      const inWeeks = (n) => R.localDate(new Date(Date.now() + n * 7 * 86400000));
      const form = reactive({ level: item.value && item.value.is_major_criterion ? "major" : "general",
        description: item.value ? "不符合：" + item.value.text : "", location: "", deadline_date: inWeeks(4),
        five: { responsible_person: "", measures: "", funds_yuan: "", deadline_date: inWeeks(4), contingency_plan: "" } });
      const photos = ref([]);
      const errors = reactive({});
      async function pick(event) {
        for (const file of event.target.files) photos.value.push({ file, thumb: await thumbnailOf(file) });
        event.target.value = "";
      }
      async function save() {
        for (const k of Object.keys(errors)) delete errors[k];
        try {
          const id = await W.addHazard(props.id, { level: form.level, description: form.description, location: form.location,
            deadline_date: form.deadline_date, checklist_item_id: item.value ? item.value.id : undefined,
            five_in_place: form.level === "major" ? form.five : undefined });
          for (const p of photos.value) await W.attachEvidence(props.id, p.file, { hazardId: id, thumbnail: p.thumb });
          await reload();
          saved(`隐患已保存到本机${photos.value.length ? `（含 ${photos.value.length} 张照片）` : ""}`);
          history.back();
        } catch (e) {
          if (e instanceof W.Invalid) errors[e.field] = e.message;
          failed(e);
        }
      }
      return { form, item, photos, pick, save, errors, go, back: () => history.back() };
    },
    template: `<div class="form-screen">
      <van-nav-bar title="登记隐患" left-arrow @click-left="back" fixed placeholder />
      <div class="cite" v-if="item"><b>{{ item.code }}</b> {{ item.text }}<div class="basis" v-if="item.legal_basis">依据：{{ item.legal_basis }}</div>
        <van-tag v-if="item.is_major_criterion" type="danger">重大事故隐患判定项</van-tag></div>
      <van-cell-group inset title="隐患">
        <van-field label="等级" :error-message="errors.level || errors.checklist_item_id"><template #input>
          <van-radio-group v-model="form.level" direction="horizontal" data-testid="level">
            <van-radio name="general">一般隐患</van-radio><van-radio name="major">重大隐患</van-radio></van-radio-group></template></van-field>
        <van-field v-model="form.description" name="description" label="描述" type="textarea" rows="2" autosize required :error-message="errors.description" />
        <van-field v-model="form.location" name="location" label="位置" placeholder="如：二号车间" />
        <van-field v-model="form.deadline_date" name="deadline_date" label="整改期限" type="date" required :error-message="errors.deadline_date" />
      </van-cell-group>
      <van-cell-group inset v-if="form.level === 'major'" title="五落实（重大事故隐患必填）" class="five" data-testid="five">
        <van-field v-model="form.five.responsible_person" name="five_responsible_person" label="责任人" required :error-message="errors['five_in_place.responsible_person']" />
        <van-field v-model="form.five.measures" name="five_measures" label="整改措施" type="textarea" rows="2" autosize required :error-message="errors['five_in_place.measures']" />
        <van-field v-model="form.five.funds_yuan" name="five_funds_yuan" label="资金（元）" type="digit" />
        <van-field v-model="form.five.deadline_date" name="five_deadline_date" label="整改时限" type="date" required :error-message="errors['five_in_place.deadline_date']" />
        <van-field v-model="form.five.contingency_plan" name="five_contingency_plan" label="应急预案" type="textarea" rows="2" autosize required :error-message="errors['five_in_place.contingency_plan']" />
      </van-cell-group>
      <van-cell-group inset title="照片">
        <div class="photos pad"><div v-for="(p, n) in photos" :key="n" class="photo"><img v-if="p.thumb" :src="p.thumb" alt="照片"></div>
          <label class="add-photo">＋ 拍照<input type="file" accept="image/*" capture="environment" multiple data-testid="hazard-photo" @change="pick"></label></div>
      </van-cell-group>
      <div class="pad"><van-button type="danger" block round data-testid="save-hazard" @click="save">保存隐患</van-button></div></div>`,
  };

  const ViolationScreen = {
    props: ["id"],
    setup(props) {
      const form = reactive({ person_name: "", id_number: "", violation_type: "illegal_operation", description: "", post: "",
        certificate_required: false, certificate_held: true, disposition: "" });
      const errors = reactive({});
      const showId = ref(false);
      const masked = computed(() => R.maskIdNumber(form.id_number));
      function checkId() {
        errors.id_number = form.id_number && !R.isValidIdNumber(form.id_number) ? vocab.messages.invalid_id_number : "";
      }
      async function save() {
        checkId();
        for (const k of Object.keys(errors)) if (k !== "id_number") delete errors[k];
        try {
          await W.addViolation(props.id, form);
          await reload();
          saved("三违记录已保存到本机");
          history.back();
        } catch (e) {
          if (e instanceof W.Invalid) errors[e.field] = e.message;
          failed(e);
        }
      }
      const types = computed(() => Object.entries(vocab.labels.ViolationType || {}));
      return { form, errors, save, checkId, types, showId, masked, back: () => history.back() };
    },
    template: `<div class="form-screen">
      <van-nav-bar title="记录三违" left-arrow @click-left="back" fixed placeholder />
      <van-cell-group inset title="人员">
        <van-field v-model="form.person_name" name="person_name" label="姓名" required :error-message="errors.person_name" />
        <van-field v-model="form.id_number" name="id_number" label="身份证号" required maxlength="18" placeholder="18 位，末位可为 X"
          :type="showId ? 'text' : 'password'" autocomplete="off" @blur="checkId">
          <template #button><van-button size="mini" @click="showId = !showId">{{ showId ? '隐藏' : '显示' }}</van-button></template></van-field>
        <van-cell title="显示为" class="id-shown" data-testid="id-check">
          <template #value><span v-if="errors.id_number" class="id-bad">{{ errors.id_number }}</span>
            <span v-else class="mono">{{ form.id_number ? masked : '—' }}</span></template></van-cell>
        <van-field v-model="form.post" name="post" label="岗位" />
      </van-cell-group>
      <van-cell-group inset title="违章">
        <van-field label="类型"><template #input><van-radio-group v-model="form.violation_type" data-testid="violation-type">
          <van-radio v-for="[v, t] in types" :key="v" :name="v" class="vt">{{ t }}</van-radio></van-radio-group></template></van-field>
        <van-field v-model="form.description" name="violation_description" label="情况" type="textarea" rows="2" autosize required :error-message="errors.description" />
        <van-field label="须持证上岗"><template #input><van-switch v-model="form.certificate_required" size="20" /></template></van-field>
        <van-field v-if="form.certificate_required" label="已持证"><template #input><van-switch v-model="form.certificate_held" size="20" /></template></van-field>
        <van-field v-model="form.disposition" name="disposition" label="处理意见" type="textarea" rows="1" autosize />
      </van-cell-group>
      <div class="pad"><van-button type="warning" block round data-testid="save-violation" @click="save">保存三违记录</van-button></div></div>`,
  };

  const SignScreen = {
    props: ["id"],
    setup(props) {
      const insp = computed(() => data.inspections.find((i) => i.id === props.id));
      const ent = computed(() => insp.value ? data.enterprises[insp.value.enterprise_id] || {} : {});
      const form = reactive({ summary: "", signer: ent.value.contact_name || "" });
      const canvas = ref(null);
      const refusal = ref("");
      let pad = null;
      onMounted(async () => {
        const w = await W.unansweredRefusal(props.id).catch(() => null);
        refusal.value = w ? w.message : "";
        const c = canvas.value, ratio = Math.max(window.devicePixelRatio || 1, 1);
        c.width = c.offsetWidth * ratio; c.height = c.offsetHeight * ratio;
        c.getContext("2d").scale(ratio, ratio);
        pad = new SignaturePad(c, { backgroundColor: "rgb(255,255,255)", penColor: "#111" });
      });
      async function submit() {
        try {
          const missing = await W.unansweredRefusal(props.id);
          if (missing) { refusal.value = missing.message; throw missing; }
          if (!form.signer.trim()) throw new W.Invalid("signer", "请填写企业签字人姓名");
          if (!pad || pad.isEmpty()) throw new W.Invalid("signature", "请企业负责人在框内签名");
          const blob = await new Promise((ok) => canvas.value.toBlob(ok, "image/png"));
          const sig = await W.attachEvidence(props.id, blob, { kind: "signature", signerName: form.signer.trim(),
                                                               thumbnail: canvas.value.toDataURL("image/png") });
          await W.submitInspection(props.id, { summary: form.summary, signedByName: form.signer.trim(), signatureEvidenceId: sig });
          await reload();
          saved("已签字提交（已保存到本机，联网后上传）");
          go("/i/" + props.id);
          SY.sync().then(reload);
        } catch (e) { failed(e); }
      }
      return { form, canvas, submit, refusal, ent, clear: () => pad && pad.clear(), back: () => history.back() };
    },
    template: `<div class="form-screen">
      <van-nav-bar title="签字提交" left-arrow @click-left="back" fixed placeholder />
      <van-notice-bar v-if="refusal" wrapable color="#b42318" background="#fef3f2" data-testid="unanswered" :text="refusal" />
      <van-cell-group inset title="检查小结">
        <van-field v-model="form.summary" name="summary" type="textarea" rows="3" autosize placeholder="检查情况小结（可选）" />
      </van-cell-group>
      <van-cell-group inset title="企业负责人签字">
        <van-field v-model="form.signer" name="signer" label="签字人" required placeholder="姓名" />
        <div class="sig-wrap"><canvas ref="canvas" class="sig" data-testid="signature"></canvas>
          <van-button size="mini" class="sig-clear" @click="clear">重写</van-button></div>
      </van-cell-group>
      <div class="pad"><van-button type="primary" block round data-testid="submit" @click="submit">确认签字并提交</van-button></div>
      <p class="hint">提交后检查记录锁定；之后的修改作为补充记录，由负责人审核。</p></div>`,
  };

  // pdf.js (vendored, cached by the service worker like the rest) draws the pages: phones show no PDF in a frame.
  let pdfjs = null;
  async function pdfLib() {
    if (!pdfjs) {
      pdfjs = await import("/static/vendor/pdfjs-dist/pdf.min.mjs");
      pdfjs.GlobalWorkerOptions.workerSrc = "/static/vendor/pdfjs-dist/pdf.worker.min.mjs";
    }
    return pdfjs;
  }
  /** Draw every page of a PDF into ``into`` at its width; the page count. */
  async function drawPdf(blob, into) {
    const lib = await pdfLib();
    const pdf = await lib.getDocument({ data: new Uint8Array(await blob.arrayBuffer()), isEvalSupported: false }).promise;
    into.innerHTML = "";
    const ratio = Math.max(window.devicePixelRatio || 1, 1);
    for (let n = 1; n <= pdf.numPages; n++) {
      const page = await pdf.getPage(n);
      const scale = into.clientWidth / page.getViewport({ scale: 1 }).width;
      const viewport = page.getViewport({ scale: scale * ratio });
      const canvas = document.createElement("canvas");
      canvas.width = Math.floor(viewport.width); canvas.height = Math.floor(viewport.height);
      canvas.className = "pdf-page"; canvas.dataset.page = String(n);
      into.appendChild(canvas);
      await page.render({ canvasContext: canvas.getContext("2d"), viewport }).promise;
    }
    return pdf.numPages;
  }

  const DocumentScreen = {
    props: ["id", "doc"],
    setup(props) {
      const doc = computed(() => data.documents.find((d) => d.id === props.doc));
      const insp = computed(() => data.inspections.find((i) => i.id === props.id));
      const ent = computed(() => insp.value ? data.enterprises[insp.value.enterprise_id] || {} : {});
      const signature = computed(() => doc.value ? signatureOf(doc.value) : null);
      const upload = computed(() => signature.value ? data.uploads.find((u) => u.evidenceId === signature.value.id) : null);
      const pdfUrl = ref(""), pdfError = ref(""), refusal = ref(""), pageCount = ref(0);
      const form = reactive({ signer: ent.value.contact_name || "" });
      const canvas = ref(null), pages = ref(null);
      let pad = null;
      async function load() {
        if (!doc.value || pdfUrl.value) return;
        try {
          const blob = await SY.documentPdf(doc.value);
          pdfUrl.value = URL.createObjectURL(blob);
          pdfError.value = "";
          data.keptPdfs = await S.db.pdfs.toCollection().primaryKeys();
          await nextTick();
          pageCount.value = await drawPdf(blob, pages.value);
        } catch (e) { pdfError.value = navigator.onLine ? (e.message || String(e)) : "本机尚未保存这份文书，联网后自动下载"; }
      }
      async function preparePad() {
        refusal.value = "";
        const r = await W.signRefusal(doc.value);
        if (r) { refusal.value = r.message; return; }
        await nextTick();
        const c = canvas.value;
        if (!c) return;
        const ratio = Math.max(window.devicePixelRatio || 1, 1);
        c.width = c.offsetWidth * ratio; c.height = c.offsetHeight * ratio;
        c.getContext("2d").scale(ratio, ratio);
        pad = new SignaturePad(c, { backgroundColor: "rgb(255,255,255)", penColor: "#111" });
      }
      // The pad first: the party may sign while a long document is still being drawn above it.
      onMounted(async () => { if (doc.value) await preparePad(); await load(); });
      watch(doc, async (now, before) => { if (now && !before) { await preparePad(); await load(); } });
      function print() {  // the PDF itself, as issued, in a frame of its own; where the browser cannot, it opens
        const frame = document.createElement("iframe");
        frame.className = "print-frame"; frame.src = pdfUrl.value;
        frame.onload = () => { try { frame.contentWindow.focus(); frame.contentWindow.print(); } catch (e) { open(); } };
        document.body.appendChild(frame);
        setTimeout(() => frame.remove(), 60000);
      }
      function open() { if (pdfUrl.value) window.open(pdfUrl.value, "_blank"); }
      async function sign() {
        try {
          if (!pad || pad.isEmpty()) throw new W.Invalid("signature", "请当事人在框内签名");
          const blob = await new Promise((ok) => canvas.value.toBlob(ok, "image/png"));
          await W.signDocument(doc.value.id, blob, { signerName: form.signer, thumbnail: canvas.value.toDataURL("image/png") });
          await reload();
          saved("当事人已签收（已保存到本机，联网后上传）");
          SY.sync().then(reload);
        } catch (e) { failed(e); }
      }
      const kept = computed(() => doc.value && data.keptPdfs.includes(doc.value.sha256));
      return { doc, ent, signature, upload, pdfUrl, pdfError, refusal, form, canvas, pages, pageCount, print, open, sign, kept, when,
               DOC_STATUS, clear: () => pad && pad.clear(), back: () => go("/i/" + props.id) };
    },
    template: `<div class="form-screen doc-screen">
      <van-nav-bar :title="doc ? doc.title : '执法文书'" left-arrow @click-left="back" fixed placeholder />
      <div v-if="doc">
        <div class="cite"><b>{{ doc.title }}</b> <van-tag :type="DOC_STATUS[doc.status][1]" data-testid="doc-status">{{ DOC_STATUS[doc.status][0] }}</van-tag>
          <div class="mono" data-testid="doc-number">{{ doc.number }}</div>
          <div class="basis">{{ doc.issuing_body }} · 签发 {{ when(doc.issued_at) }} · 核验码 {{ doc.short_code }}</div>
          <div class="basis" v-if="doc.void_reason">作废原因：{{ doc.void_reason }}</div>
          <div class="basis"><span v-if="kept" data-testid="doc-kept">已保存在本机（已校验 SHA-256），无网络也可查看、打印</span>
            <span v-else>尚未下载到本机</span></div></div>
        <div class="pdf-wrap"><div v-show="pdfUrl" ref="pages" class="pdf-pages" data-testid="doc-pages" :data-pages="pageCount"></div>
          <van-empty v-if="!pdfUrl || pdfError" :description="pdfError || '正在打开文书…'" /></div>
        <div class="pad row2" v-if="pdfUrl"><van-button block round icon="description" data-testid="doc-open" @click="open">全屏查看</van-button>
          <van-button block round icon="printer" data-testid="doc-print" @click="print">打印</van-button></div>
        <van-cell-group inset title="当事人签收" v-if="signature">
          <van-cell title="签收人" :value="signature.signer_name" data-testid="doc-signed" />
          <van-cell title="签收时间" :value="when(signature.signed_at)" />
          <van-cell title="签名上传" :value="!upload || upload.status === 'done' ? '已上传' : upload.status === 'failed' ? '失败' : '待上传'" />
        </van-cell-group>
        <van-notice-bar v-else-if="refusal" wrapable color="#b42318" background="#fef3f2" data-testid="doc-refusal" :text="refusal" />
        <van-cell-group inset title="当事人签收" v-else>
          <van-field v-model="form.signer" name="doc-signer" label="签收人" required placeholder="企业负责人姓名" />
          <div class="sig-wrap"><canvas ref="canvas" class="sig" data-testid="doc-signature"></canvas>
            <van-button size="mini" class="sig-clear" @click="clear">重写</van-button></div>
          <div class="pad"><van-button type="primary" block round data-testid="doc-sign" @click="sign">当事人确认签收</van-button></div>
          <p class="hint">签名与这份文书的 SHA-256 一同记录，作为送达签收的证据；原件不作改动。</p>
        </van-cell-group>
      </div>
      <van-empty v-else description="本机没有这份文书（联网后同步）" /></div>`,
  };

  const RecheckScreen = {
    props: ["id"],
    setup(props) {
      const r = computed(() => data.rechecks.find((x) => x.id === props.id));
      const hazard = computed(() => r.value ? data.hazards.find((h) => h.id === r.value.hazard_id) || {} : {});
      const form = reactive({ passed: "true", note: "", newDeadline: "" });
      async function save() {
        try {
          await W.reportRecheck(props.id, { passed: form.passed === "true", note: form.note, newDeadlineDate: form.newDeadline || undefined });
          await reload(); saved("复查结果已保存到本机"); go("/tasks");
        } catch (e) { failed(e); }
      }
      return { r, hazard, form, save, data, back: () => history.back() };
    },
    template: `<div class="form-screen">
      <van-nav-bar title="回头看复查" left-arrow @click-left="back" fixed placeholder />
      <div class="cite"><b>{{ (data.enterprises[(r || {}).enterprise_id] || {}).name }}</b>
        <div class="addr">{{ (data.enterprises[(r || {}).enterprise_id] || {}).address }}</div>
        <div>{{ hazard.description }}</div><div class="basis">整改期限 {{ hazard.deadline_date }}</div></div>
      <van-cell-group inset>
        <van-field label="复查结果"><template #input><van-radio-group v-model="form.passed" direction="horizontal">
          <van-radio name="true">已整改</van-radio><van-radio name="false">未整改</van-radio></van-radio-group></template></van-field>
        <van-field v-if="form.passed === 'false'" v-model="form.newDeadline" type="date" label="新整改期限" />
        <van-field v-model="form.note" type="textarea" rows="2" autosize label="复查情况" />
      </van-cell-group>
      <div class="pad"><van-button type="primary" block round @click="save">保存复查结果</van-button></div></div>`,
  };

  function editableFields(payload, prefix) {
    const out = [];
    for (const [k, v] of Object.entries(payload || {})) {
      const path = prefix ? prefix + "." + k : k;
      if (v && typeof v === "object" && !Array.isArray(v)) out.push(...editableFields(v, path));
      else if ((typeof v === "string" || typeof v === "number") && !NOT_EDITABLE.test(k)) out.push({ path, key: k, value: String(v) });
    }
    return out;
  }
  function setPath(obj, path, value) {
    const keys = path.split("."), last = keys.pop();
    let at = obj;
    for (const k of keys) at = at[k];
    at[last] = typeof at[last] === "number" ? Number(value) : value;
  }

  const SyncScreen = {
    components: { SyncBadge },
    setup() {
      const sync = reactive({ ...SY.state });
      SY.onChange((s) => Object.assign(sync, s));
      const editing = ref(null);
      const safe = computed(() => !data.counts.pending && !data.counts.uploadsWaiting && !data.outcomes.length);
      const waitingPhotos = computed(() => data.uploads.filter((u) => u.status !== "done"));
      const waitingGroups = computed(() => {
        const groups = new Map();
        for (const e of data.outbox) {
          const g = groups.get(e.kind) || { kind: e.kind, count: 0, first: e.createdAt, attempts: 0 };
          g.count += 1; g.attempts = Math.max(g.attempts, e.attempts || 0);
          groups.set(e.kind, g);
        }
        return [...groups.values()];
      });
      async function now() { await SY.sync({ now: true }); await reload(); }
      function describe(o) {
        const p = o.payload || {};
        const rec = p.hazard || p.violation || p;
        return rec.description || rec.text || rec.note || rec.person_name || rec.caption || rec.summary ||
          (rec.signer_name ? "签收人 " + rec.signer_name : "");
      }
      async function ack(o) { await S.acknowledge(o.seq); await reload(); saved("已知悉"); }
      async function resend(o) { await S.requeue(o.seq); await reload(); await now(); }
      async function drop(o) {
        await vant.showConfirmDialog({ title: "放弃这条记录？", message: "放弃后不会再上传，本机也不再保留。" });
        await S.discard(o.seq); await reload();
      }
      function fix(o) { editing.value = { o, fields: editableFields(o.payload) }; }
      async function sendFixed() {
        const { o, fields } = editing.value;
        const fixed = JSON.parse(JSON.stringify(o.payload));
        for (const f of fields) setPath(fixed, f.path, f.value);
        editing.value = null;
        await S.requeue(o.seq, fixed); await reload(); await now();
      }
      return { data, sync, safe, waitingPhotos, waitingGroups, now, describe, ack, resend, drop, fix, editing, sendFixed, when,
               KIND_LABEL, FIELD_LABEL, go };
    },
    template: `<div class="sync-screen">
      <van-nav-bar title="同步" fixed placeholder />
      <div :class="['state', safe ? 'safe' : 'waiting']" data-testid="sync-state">
        <div class="big" v-if="data.meta.auth_required">登录已过期，同步已暂停</div>
        <div class="big" v-else-if="safe">全部记录已安全保存到服务器</div>
        <div class="big" v-else-if="data.counts.pending || data.counts.uploadsWaiting">{{ data.counts.pending || 0 }} 条记录、{{ data.counts.uploadsWaiting || 0 }} 张照片在本机等待上传</div>
        <div class="big" v-else>其余记录已保存到服务器；{{ data.outcomes.length }} 条需要您处理</div>
        <div class="small" v-if="data.meta.auth_required">本机的记录都还在，重新登录后自动上传，不会丢失。</div>
        <div class="small" v-if="data.meta.last_sync_at">上次同步成功：{{ when(data.meta.last_sync_at) }}</div>
        <div class="small err" v-if="data.meta.last_error && !safe">{{ data.meta.last_error }}</div>
        <div class="small" v-if="!data.online">当前离线：记录都保存在本机，联网后自动同步。</div>
      </div>
      <div class="pad" v-if="data.meta.auth_required"><van-button type="danger" block round data-testid="relogin" @click="go('/login')">重新登录</van-button></div>
      <div class="pad"><van-button type="primary" block round :loading="sync.running" loading-text="同步中…" data-testid="sync-now" @click="now">立即同步</van-button>
        <div v-if="sync.running && sync.phase" class="progress-line">
          {{ sync.phase === 'push' ? '上传记录' : sync.phase === 'pull' ? '下载更新' : sync.phase === 'documents' ? '下载文书' : '上传照片' }}
          <van-progress v-if="sync.total" :percentage="Math.min(100, Math.round(100 * sync.done / sync.total))" /></div></div>
      <div class="section" v-if="data.outcomes.length">需要您处理 {{ data.outcomes.length }}</div>
      <div v-for="o in data.outcomes" :key="o.seq" class="outcome" :data-outcome-seq="o.seq" :data-code="o.code">
        <div class="o-head"><van-tag :type="o.outcome === 'conflict' ? 'warning' : 'danger'">{{ o.outcome === 'conflict' ? '冲突' : o.outcome === 'deferred' ? '暂缓' : '被退回' }}</van-tag>
          <b>{{ KIND_LABEL[o.kind] || o.kind }}</b><small>{{ when(o.at) }}</small></div>
        <div class="o-what" v-if="describe(o)">{{ describe(o) }}</div>
        <div class="o-reason" data-testid="reason">服务器：{{ o.message }}</div>
        <div class="o-actions" v-if="o.outcome === 'rejected'">
          <van-button size="small" type="primary" data-testid="fix" @click="fix(o)">修改后重发</van-button>
          <van-button size="small" @click="resend(o)">原样重发</van-button>
          <van-button size="small" data-testid="ack" @click="ack(o)">知悉</van-button>
          <van-button size="small" type="danger" plain @click="drop(o)">放弃</van-button></div>
        <div class="o-actions" v-else-if="o.outcome === 'conflict'">
          <span class="small">双方的值都已保留，由负责人裁定。</span><van-button size="small" data-testid="ack" @click="ack(o)">知悉</van-button></div>
      </div>
      <div class="section" v-if="data.outbox.length || waitingPhotos.length">等待上传</div>
      <van-cell v-for="g in waitingGroups" :key="g.kind" :title="(KIND_LABEL[g.kind] || g.kind) + (g.count > 1 ? ' × ' + g.count : '')"
        :label="'最早 ' + when(g.first)" :value="g.attempts ? '已尝试 ' + g.attempts + ' 次' : '待上传'" data-testid="waiting" />
      <van-cell v-for="u in waitingPhotos" :key="u.evidenceId" :title="(u.label || '照片') + ' ' + Math.round(u.size / 1024) + ' KB'"
        :label="u.message || ''" :value="u.status === 'failed' ? '失败' : Math.round(100 * (u.sentBytes || 0) / u.size) + '%'" />
      <van-popup :show="!!editing" position="bottom" round closeable @close="editing = null" :style="{ maxHeight: '80%' }">
        <div v-if="editing" class="fix-form"><h3>修改后重发</h3><p class="o-reason">服务器：{{ editing.o.message }}</p>
          <van-field v-for="f in editing.fields" :key="f.path" v-model="f.value" :label="FIELD_LABEL[f.key] || f.key" :name="'fix-' + f.path"
            :error-message="editing.o.field && f.path.endsWith(editing.o.field) ? '请修改此项' : ''" />
          <div class="pad"><van-button type="primary" block round data-testid="send-fixed" @click="sendFixed">重发</van-button></div></div>
      </van-popup></div>`,
  };

  // --- the app -------------------------------------------------------------------------

  const Root = {
    components: { LoginScreen, TasksScreen, InspectionScreen, HazardScreen, ViolationScreen, SignScreen, DocumentScreen,
                  RecheckScreen, SyncScreen },
    setup() {
      const view = computed(() => {
        if (!data.loaded) return { name: "loading" };
        if (!data.user || route.path === "/login") return { name: "login-screen" };
        const p = route.path.split("/").filter(Boolean);
        if (p[0] === "i" && p[2] === "hazard") return { name: "hazard-screen", props: { id: p[1], item: p[3] || "-" } };
        if (p[0] === "i" && p[2] === "violation") return { name: "violation-screen", props: { id: p[1] } };
        if (p[0] === "i" && p[2] === "sign") return { name: "sign-screen", props: { id: p[1] } };
        if (p[0] === "i" && p[2] === "doc") return { name: "document-screen", props: { id: p[1], doc: p[3] } };
        if (p[0] === "i") return { name: "inspection-screen", props: { id: p[1] } };
        if (p[0] === "r") return { name: "recheck-screen", props: { id: p[1] } };
        if (p[0] === "sync") return { name: "sync-screen" };
        return { name: "tasks-screen" };
      });
      const tab = computed(() => (route.path.startsWith("/sync") ? 1 : 0));
      const tabs = computed(() => ["tasks-screen", "sync-screen"].includes(view.value.name));
      return { view, data, tab, tabs, go, route };
    },
    template: `<div :class="['shell', { 'with-tabs': tabs }]">
      <div v-if="view.name === 'loading'" class="pad"><van-loading>加载中…</van-loading></div>
      <component v-else :is="view.name" v-bind="view.props || {}" :key="route.path" />
      <van-tabbar v-if="tabs && data.user" :model-value="tab" fixed placeholder>
        <van-tabbar-item icon="todo-list-o" @click="go('/tasks')">任务</van-tabbar-item>
        <van-tabbar-item icon="exchange" :badge="(data.counts.pending || 0) + (data.outcomes.length || 0) || ''" @click="go('/sync')">同步</van-tabbar-item>
      </van-tabbar></div>`,
  };

  async function boot() {
    if (location.pathname === "/app") { location.replace("/app/" + location.hash); return; }
    if ("serviceWorker" in navigator) {
      // Registered once; at each start with a network, the worker checks the shell's version and keeps a new one.
      navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" })
        .then((r) => { if (navigator.onLine && r.active) r.active.postMessage("refresh-shell"); }).catch(() => {});
    }
    try {
      const answer = await fetch("/app/vocab.json");
      Object.assign(vocab, await answer.json());
    } catch (e) { console.warn("vocabulary unavailable", e); }
    W.setMessages(vocab.messages);
    await S.deviceId();
    await reload();
    window.addEventListener("online", () => { data.online = true; });
    window.addEventListener("offline", () => { data.online = false; });
    SY.onChange((s) => { if (!s.running) reload(); });
    const app = createApp(Root);
    app.use(vant);
    app.mount("#app");
    SY.start();
    if (data.user && navigator.onLine) SY.sync();
    window.FC.app = { data, reload, ready: true };
  }
  window.FC.app = { ready: false };
  boot();
})();
