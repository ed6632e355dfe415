"""Typed, grouped settings: the only module that reads the environment.

Each field is declared with :func:`setting`, which names its environment
variable, its default and one line a person reads (the README's configuration
table is generated from these). ``Settings.from_env()`` reads them once at
start-up; tests build ``Settings`` directly and pass it to ``create_app``.
Any setting may instead come from a file named by ``<VAR>_FILE`` (a Docker or
Kubernetes secret); setting both is refused.

Defaults give the embedded mode: SQLite and a filesystem object store under
``FIELDCHECK_DATA_DIR``. Setting ``DATABASE_URL`` (postgresql://…) and
``S3_ENDPOINT`` switches to production mode.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import os
import secrets
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_MISSING_SECRET = ""


def setting(env: str, default: Any, doc: str) -> Any:
    """Declare one settings field: its environment variable, default and description."""
    if isinstance(default, (list, dict, set)):
        return field(default_factory=lambda: type(default)(default), metadata={"env": env, "doc": doc})
    return field(default=default, metadata={"env": env, "doc": doc})


@dataclass(frozen=True)
class ServerSettings:
    """How the API process runs."""

    host: str = setting("FIELDCHECK_HOST", "127.0.0.1", "监听地址 / address to listen on")
    port: int = setting("FIELDCHECK_PORT", 8000, "监听端口 / port to listen on")
    data_dir: Path = setting(
        "FIELDCHECK_DATA_DIR", Path("./fieldcheck-data"), "嵌入模式数据目录（SQLite 与照片）/ data folder of the embedded mode"
    )
    max_body_bytes: int = setting(
        "FIELDCHECK_MAX_BODY_BYTES", 2 * 1024 * 1024, "JSON 请求体上限（字节）/ largest JSON request body"
    )
    debug: bool = setting("FIELDCHECK_DEBUG", False, "调试模式（勿用于生产）/ debug mode, never in production")
    gc_thresholds: str = setting(
        "FIELDCHECK_GC_THRESHOLDS",
        "20000,20,20",
        "Python 循环垃圾回收的三代阈值（逗号分隔；留空用 Python 默认 700,10,10）；启动完成后冻结启动时的对象，回收不再遍历它们"
        " / thresholds of the cyclic garbage collector (empty = Python's 700,10,10); start-up objects are frozen after start-up",
    )
    metrics_token: str = setting(
        "FIELDCHECK_METRICS_TOKEN", "", "Prometheus 抓取 /metrics 所用令牌（至少 24 个字符；留空则不提供）/ bearer token of /metrics, empty = off"
    )

    @property
    def gc_threshold_values(self) -> tuple[int, int, int] | None:
        """``gc_thresholds`` as ``gc.set_threshold`` takes them, or ``None`` (keep Python's); ValueError if malformed."""
        if not self.gc_thresholds.strip():
            return None
        values = tuple(int(v) for v in self.gc_thresholds.split(","))
        if len(values) != 3 or min(values) < 1:
            raise ValueError(self.gc_thresholds)
        return values  # type: ignore[return-value]


@dataclass(frozen=True)
class DatabaseSettings:
    """Where the records live."""

    url: str = setting(
        "DATABASE_URL", "", "PostgreSQL 连接串（postgresql://…）；留空则用数据目录下的 SQLite / empty = embedded SQLite"
    )
    password: str = setting(
        "DATABASE_PASSWORD", "", "PostgreSQL 密码，单独设置（任何字符都可用，无需编码进连接串）/ password kept out of the URL"
    )
    pool_min: int = setting("DATABASE_POOL_MIN", 2, "PostgreSQL 连接池最小连接数 / pool minimum")
    pool_max: int = setting("DATABASE_POOL_MAX", 20, "PostgreSQL 连接池最大连接数 / pool maximum")
    statement_timeout_ms: int = setting(
        "DATABASE_STATEMENT_TIMEOUT_MS", 30_000, "单条语句超时（毫秒）/ per-statement timeout on PostgreSQL"
    )

    @property
    def is_postgres(self) -> bool:
        return self.url.startswith(("postgres://", "postgresql://"))


@dataclass(frozen=True)
class StorageSettings:
    """Where photo and signature bytes live."""

    endpoint: str = setting(
        "S3_ENDPOINT", "", "MinIO/S3 地址（host:port）；留空则用数据目录下的文件存储 / empty = filesystem store"
    )
    access_key: str = setting("S3_ACCESS_KEY", "", "MinIO/S3 访问密钥 / access key")
    secret_key: str = setting("S3_SECRET_KEY", "", "MinIO/S3 私密密钥 / secret key")
    bucket: str = setting("S3_BUCKET", "fieldcheck-evidence", "证据存储桶 / evidence bucket")
    secure: bool = setting("S3_SECURE", False, "使用 HTTPS 连接 MinIO/S3 / use TLS")
    region: str = setting("S3_REGION", "us-east-1", "S3 区域 / region")
    object_lock: bool = setting(
        "S3_OBJECT_LOCK", False, "启用对象锁定（证据不可删改）/ create the bucket with object lock and retain originals"
    )
    retention_days: int = setting("S3_RETENTION_DAYS", 3650, "对象锁定保留天数 / retention of locked originals")

    @property
    def is_s3(self) -> bool:
        return bool(self.endpoint)


@dataclass(frozen=True)
class AuthSettings:
    """Tokens, passwords and login throttling."""

    secret_key: str = setting(
        "FIELDCHECK_SECRET_KEY", _MISSING_SECRET, "令牌签名密钥；留空时嵌入模式在数据目录生成并保存 / JWT signing key"
    )
    access_ttl_s: int = setting("FIELDCHECK_ACCESS_TTL_S", 15 * 60, "访问令牌有效期（秒）/ access token lifetime")
    refresh_ttl_s: int = setting(
        "FIELDCHECK_REFRESH_TTL_S", 30 * 24 * 3600, "刷新令牌有效期（秒）/ refresh token lifetime"
    )
    refresh_grace_s: int = setting(
        "FIELDCHECK_REFRESH_GRACE_S",
        60,
        "刷新令牌轮换后，同一设备仍可重用旧令牌的宽限期（秒），应答丢失时免重新登录 / how long the device may retry a refresh whose answer was lost",
    )
    max_failed_logins: int = setting(
        "FIELDCHECK_MAX_FAILED_LOGINS",
        5,
        "同一账号从同一来源地址允许的连续登录失败次数，超过后退避 / failed logins per account and source address before backoff",
    )
    max_failed_logins_per_source: int = setting(
        "FIELDCHECK_MAX_FAILED_LOGINS_PER_SOURCE",
        30,
        "同一来源地址（所有账号合计）允许的登录失败次数，超过后退避 / failed logins per source address before backoff",
    )
    lockout_s: int = setting(
        "FIELDCHECK_LOCKOUT_S", 300, "首次退避时长（秒），此后每次失败加倍，最长一天 / first backoff, doubled on each further failure, at most a day"
    )
    trusted_proxies: str = setting(
        "FIELDCHECK_TRUSTED_PROXIES",
        "",
        "可信反向代理地址或网段（逗号分隔）；仅来自它们的 X-Forwarded-For 被采信 / comma list of proxy addresses or CIDRs whose X-Forwarded-For is believed",
    )

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """``trusted_proxies`` parsed; raises ``ValueError`` on an entry that is not an address or CIDR."""
        return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in self.trusted_proxies.split(",") if p.strip())


@dataclass(frozen=True)
class PrivacySettings:
    """Keys protecting personal data (三违 ID numbers)."""

    id_hash_key: str = setting(
        "FIELDCHECK_ID_HASH_KEY", _MISSING_SECRET, "身份证号匹配用的 HMAC 密钥 / key of the keyed hash that matches ID numbers"
    )


@dataclass(frozen=True)
class AuditSettings:
    """The key signing checkpoints of the audit chain's head (kept in the object store)."""

    checkpoint_key: str = setting(
        "FIELDCHECK_AUDIT_KEY",
        _MISSING_SECRET,
        "审计链检查点的 HMAC-SHA256 签名密钥（生产模式必填，至少 32 个随机字符；嵌入模式留空则在数据目录生成）"
        " / key signing audit checkpoints",
    )


@dataclass(frozen=True)
class SyncSettings:
    """Limits of the offline sync protocol."""

    max_push_mutations: int = setting("SYNC_MAX_PUSH_MUTATIONS", 1000, "单次推送最多变更数 / mutations per push")
    pull_page_size: int = setting("SYNC_PULL_PAGE_SIZE", 5000, "单页拉取最多记录数 / changes per pull page")
    max_push_bytes: int = setting(
        "SYNC_MAX_PUSH_BYTES", 4 * 1024 * 1024, "gzip 解压后的推送/拉取请求体上限（字节）/ largest sync body after inflating gzip"
    )
    keep_submitted_hours: int = setting(
        "SYNC_KEEP_SUBMITTED_HOURS",
        168,
        "已提交的检查在手机上保留的小时数（供补充修改），之后离开手机的同步范围 / hours a submitted check stays on"
        " the phones of its team (for amendments) before it leaves their sync scopes",
    )


@dataclass(frozen=True)
class EvidenceSettings:
    """Limits on photos and signatures."""

    max_bytes: int = setting("EVIDENCE_MAX_BYTES", 25 * 1024 * 1024, "单个证据文件上限（字节）/ largest evidence file")
    max_pixels: int = setting("EVIDENCE_MAX_PIXELS", 40_000_000, "图片像素上限（解码前检查）/ largest image, checked before decoding")
    chunk_bytes: int = setting("EVIDENCE_CHUNK_BYTES", 5 * 1024 * 1024, "分片上传的分片大小（字节）/ upload chunk size")
    thumbnails_at_once: int = setting(
        "EVIDENCE_THUMBNAILS_AT_ONCE", 2, "同时生成的缩略图数（每张可能占用上百 MB 内存）/ thumbnails made at once per process"
    )
    gc_after_s: int = setting(
        "EVIDENCE_GC_AFTER_S", 7 * 24 * 3600, "未完成上传的清理期限（秒）/ age after which unfinished uploads are collected"
    )
    presigned_downloads: bool = setting(
        "EVIDENCE_PRESIGNED_DOWNLOADS",
        False,
        "原件下载改用对象存储的 5 分钟预签名链接（S3 无法附加 nosniff 头）；默认由 API 传输"
        " / hand out presigned S3 links instead of streaming (S3 cannot add nosniff)",
    )


@dataclass(frozen=True)
class HazardSettings:
    """The hazard closed loop: the overdue ladder, recheck teams, the local calendar."""

    escalation_days: str = setting(
        "HAZARD_ESCALATION_DAYS",
        "1,8,15,30",
        "逾期第几天依次：督办通知、通报/约谈、提请停产停业整顿、提请关闭 / days overdue of each escalation rung",
    )
    recheck_team_size: int = setting("HAZARD_RECHECK_TEAM_SIZE", 2, "回头看复查指派人数 / inspectors per recheck")
    recheck_days: int = setting("HAZARD_RECHECK_DAYS", 10, "复查应在几日内完成 / days allowed for a recheck")
    timezone: str = setting("FIELDCHECK_TIMEZONE", "Asia/Shanghai", "计算期限与逾期的时区 / time zone of deadlines")


@dataclass(frozen=True)
class EnforcementSettings:
    """Which enforcement decisions need a second person's 法制审核."""

    review_kinds: str = setting(
        "ENFORCEMENT_REVIEW_KINDS",
        "suspension,closure_request",
        "须法制审核的措施（逗号分隔）/ action kinds that always need legal review",
    )
    fine_review_over_yuan: int = setting(
        "ENFORCEMENT_FINE_REVIEW_OVER_YUAN", 100_000, "罚款超过此金额须法制审核（元）/ fines above this need legal review"
    )


@dataclass(frozen=True)
class DocumentSettings:
    """Enforcement documents: who issues them, where the verify page is, which fonts they embed."""

    issuing_body: str = setting("DOCUMENT_ISSUING_BODY", "中卫市应急管理局", "文书签发机关全称 / the issuing body printed on every document")
    issuing_abbr: str = setting(
        "DOCUMENT_ISSUING_ABBR", "中卫", "文号中的机关简称，如（中卫）应急罚〔2026〕15号 / abbreviation in document numbers"
    )
    public_url: str = setting(
        "DOCUMENT_PUBLIC_URL",
        "http://127.0.0.1:8000",
        "公众核验页面的对外地址（印在二维码中）/ external address of the verify page, printed in the QR code",
    )
    body_font: str = setting(
        "DOCUMENT_BODY_FONT",
        "/usr/share/fonts/truetype/arphic/uming.ttc",
        "文书正文字体（Debian fonts-arphic-uming，宋体风格）/ body font file (Song style)",
    )
    heading_font: str = setting(
        "DOCUMENT_HEADING_FONT",
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        "文书标题字体（Debian fonts-wqy-microhei，黑体风格）/ heading font file (Hei style)",
    )
    max_verify_bytes: int = setting(
        "DOCUMENT_MAX_VERIFY_BYTES", 20 * 1024 * 1024, "核验时可上传的 PDF 上限（字节）/ largest PDF the verify page accepts"
    )
    verify_per_minute: int = setting(
        "DOCUMENT_VERIFY_PER_MINUTE",
        30,
        "同一来源地址每分钟可发出的公众核验请求数（/verify 与 /api/v1/public/documents；0 为不限）/ public verify requests per client address a minute, 0 = no limit",
    )
    max_signature_bytes: int = setting(
        "DOCUMENT_MAX_SIGNATURE_BYTES", 512 * 1024, "执法人员签名图片（PNG）的上限（字节）/ largest officer signature image (PNG)"
    )
    holidays: str = setting(
        "DOCUMENT_HOLIDAYS",
        "",
        "法定节假日（逗号分隔的日期，如 2026-10-01），计算陈述申辩等工作日期限时不计 / public holidays, not counted as working days",
    )
    working_weekend_days: str = setting(
        "DOCUMENT_WORKING_WEEKEND_DAYS",
        "",
        "调休上班的周末日期（逗号分隔），计为工作日 / weekend days worked in place of a holiday, counted as working days",
    )

    @property
    def holiday_dates(self) -> frozenset[dt.date]:
        """``holidays`` parsed; raises ``ValueError`` on an entry that is not a date."""
        return _dates(self.holidays)

    @property
    def working_weekend_dates(self) -> frozenset[dt.date]:
        return _dates(self.working_weekend_days)


def _dates(text: str) -> frozenset[dt.date]:
    return frozenset(dt.date.fromisoformat(p.strip()) for p in text.split(",") if p.strip())


@dataclass(frozen=True)
class JobSettings:
    """Scheduled work inside the server (``server.jobs``): whether it runs, and how often each job does."""

    enabled: bool = setting(
        "FIELDCHECK_JOBS", True, "本进程是否运行定时任务（多副本时每个时点只执行一次）/ run the scheduled jobs in this process"
    )
    covert_release_s: int = setting(
        "SPOTCHECK_RELEASE_INTERVAL_S", 60, "检查到期暗访任务并发布的间隔（秒）/ how often due covert tasks are released"
    )
    escalation_s: int = setting(
        "JOB_ESCALATION_INTERVAL_S", 3600, "逾期隐患升级与到期复查的间隔（秒）/ how often the overdue ladder runs"
    )
    evidence_gc_s: int = setting(
        "JOB_EVIDENCE_GC_INTERVAL_S", 86_400, "清理过期上传的间隔（秒）/ how often evidence garbage is collected"
    )
    stats_refresh_s: int = setting(
        "JOB_STATS_REFRESH_INTERVAL_S", 60, "统计汇总刷新任务（有记录的兜底运行）的间隔（秒）/ how often the recorded stats-refresh job runs"
    )
    stats_fresh_ms: int = setting(
        "FIELDCHECK_STATS_FRESH_MS", 2000,
        "后台重算待更新月份统计的轮询间隔（毫秒），决定统计的滞后 / how often the background refresher recounts queued months",
    )
    reminders_s: int = setting(
        "JOB_REMINDERS_INTERVAL_S", 3600, "检查整改期限并发送提醒的间隔（秒）/ how often deadline reminders are made"
    )
    webhook_s: int = setting(
        "JOB_WEBHOOK_INTERVAL_S", 30, "向外部通道推送通知的间隔（秒）/ how often queued notifications are sent to the webhook"
    )
    audit_checkpoint_s: int = setting(
        "JOB_AUDIT_CHECKPOINT_INTERVAL_S", 3600, "签署审计链检查点的间隔（秒）/ how often the audit chain's head is signed"
    )


@dataclass(frozen=True)
class NotificationSettings:
    """Reminders, and the one outbound channel: a signed webhook (SMS gateway, 政务微信 / 钉钉 robot bridge)."""

    days_before: int = setting(
        "NOTIFY_DAYS_BEFORE", 3, "整改期限前几天开始提醒 / days before a deadline that the reminder goes out"
    )
    webhook_url: str = setting(
        "NOTIFY_WEBHOOK_URL", "", "通知推送地址（http/https；留空则只在系统内和手机上提醒）/ webhook URL, empty = inbox only"
    )
    webhook_secret: str = setting(
        "NOTIFY_WEBHOOK_SECRET", "", "推送签名密钥（HMAC-SHA256，至少 32 个字符）/ key that signs each POST"
    )
    webhook_timeout_s: int = setting("NOTIFY_WEBHOOK_TIMEOUT_S", 10, "推送超时（秒）/ timeout of one POST")
    webhook_max_attempts: int = setting(
        "NOTIFY_WEBHOOK_MAX_ATTEMPTS", 10, "推送失败后最多重试次数 / attempts before a delivery is given up"
    )


@dataclass(frozen=True)
class RegistrySettings:
    """Bringing a bureau's enterprise registry in from a file."""

    import_max_rows: int = setting(
        "REGISTRY_IMPORT_MAX_ROWS", 50_000, "企业名录导入文件的最大行数 / most rows one registry import file may hold"
    )
    import_max_bytes: int = setting(
        "REGISTRY_IMPORT_MAX_BYTES", 32 * 1024 * 1024, "企业名录导入文件的最大字节数 / largest registry import file"
    )


@dataclass(frozen=True)
class WebSettings:
    """The browser pages' files: the libraries they load are served from here, never from a CDN."""

    web_dir: Path = setting(
        "FIELDCHECK_WEB_DIR",
        Path(__file__).resolve().parent.parent / "web",
        "前端目录：各页面的文件，及 make 调用 web/build.py 生成的 dist/vendor/ / the web/ folder: pages and built libraries",
    )

    @property
    def vendor_dir(self) -> Path:
        """The npm libraries web/build.py copied, served at /static/vendor/<package>/<file>."""
        return self.web_dir / "dist" / "vendor"


@dataclass(frozen=True)
class Settings:
    """All settings, one group per concern."""

    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    audit: AuditSettings = field(default_factory=AuditSettings)
    sync: SyncSettings = field(default_factory=SyncSettings)
    evidence: EvidenceSettings = field(default_factory=EvidenceSettings)
    hazards: HazardSettings = field(default_factory=HazardSettings)
    enforcement: EnforcementSettings = field(default_factory=EnforcementSettings)
    documents: DocumentSettings = field(default_factory=DocumentSettings)
    web: WebSettings = field(default_factory=WebSettings)
    registry: RegistrySettings = field(default_factory=RegistrySettings)
    jobs: JobSettings = field(default_factory=JobSettings)
    notifications: NotificationSettings = field(default_factory=NotificationSettings)

    @classmethod
    def from_env(cls, environ: typing.Mapping[str, str] | None = None) -> Settings:
        """Read every group from the environment (``os.environ`` unless given)."""
        environ = os.environ if environ is None else environ
        groups = {f.name: _load_group(f.type_cls, environ) for f in _group_fields(cls)}
        return cls(**groups)

    def check_limits(self) -> Settings:
        """Refuse at start-up the limits no client can work with (instead of answering every phone 413/503 later)."""
        from schemas.sync import MAX_PULL_LIMIT, MAX_PUSH_MUTATIONS
        from storage.base import MIN_PART_BYTES

        problems = []
        if not 1 <= self.sync.max_push_mutations <= MAX_PUSH_MUTATIONS:
            problems.append(f"SYNC_MAX_PUSH_MUTATIONS 须在 1–{MAX_PUSH_MUTATIONS} 之间 / must be 1..{MAX_PUSH_MUTATIONS}")
        if not 1 <= self.sync.pull_page_size <= MAX_PULL_LIMIT:
            problems.append(f"SYNC_PULL_PAGE_SIZE 须在 1–{MAX_PULL_LIMIT} 之间 / must be 1..{MAX_PULL_LIMIT}")
        if self.evidence.chunk_bytes < MIN_PART_BYTES:
            problems.append(
                f"EVIDENCE_CHUNK_BYTES 不得小于 {MIN_PART_BYTES}（S3 分片上传的最小分片）/ must be at least {MIN_PART_BYTES}"
            )
        if self.server.metrics_token and len(self.server.metrics_token) < 24:
            problems.append("FIELDCHECK_METRICS_TOKEN 须至少 24 个字符 / must be at least 24 characters")
        notify = self.notifications
        if notify.webhook_url:
            if not notify.webhook_url.startswith(("http://", "https://")):
                problems.append("NOTIFY_WEBHOOK_URL 须以 http:// 或 https:// 开头 / must be an http(s) URL")
            if len(notify.webhook_secret) < 32:
                problems.append("NOTIFY_WEBHOOK_SECRET 须至少 32 个字符 / must be at least 32 characters")
        if notify.webhook_timeout_s < 1 or notify.webhook_max_attempts < 1 or notify.days_before < 0:
            problems.append("NOTIFY_WEBHOOK_TIMEOUT_S、NOTIFY_WEBHOOK_MAX_ATTEMPTS 须为正数，NOTIFY_DAYS_BEFORE 不得为负 / out of range")
        if self.sync.max_push_bytes < 64 * 1024:
            problems.append("SYNC_MAX_PUSH_BYTES 不得小于 65536 / must be at least 65536")
        try:
            self.server.gc_threshold_values
        except ValueError:
            problems.append("FIELDCHECK_GC_THRESHOLDS 须为三个逗号分隔的正整数 / must be three positive integers, comma-separated")
        if self.evidence.thumbnails_at_once < 1:
            problems.append("EVIDENCE_THUMBNAILS_AT_ONCE 须为正数 / must be positive")
        if self.evidence.max_bytes < 1:
            problems.append("EVIDENCE_MAX_BYTES 须为正数 / must be positive")
        try:
            self.auth.trusted_proxy_networks
        except ValueError as exc:
            problems.append(f"FIELDCHECK_TRUSTED_PROXIES 含无法识别的地址 / not an address or CIDR: {exc}")
        try:
            self.documents.holiday_dates, self.documents.working_weekend_dates
        except ValueError as exc:
            problems.append(f"DOCUMENT_HOLIDAYS / DOCUMENT_WORKING_WEEKEND_DAYS 含无法识别的日期 / not a date: {exc}")
        if problems:
            raise ValueError("配置不可用 / unworkable settings: " + "; ".join(problems))
        return self

    def with_secrets(self) -> Settings:
        """Fill missing secret keys, persisting them in the data folder (embedded mode only).

        In production (PostgreSQL) a missing secret is a configuration error: a
        key made up at start-up would log everyone out and unmatch every 三违
        record on the next restart. Each key is also refused there when it looks
        like a placeholder (``change-me``…), is short or too uniform: a guessable
        signing key forges tokens, a guessable audit key forges checkpoints.
        With S3 the store's secret key (``S3_SECRET_KEY``) is held to the same
        bar: whoever guesses it reads every photo and signature.
        """
        missing = {
            ("auth", "secret_key"): self.auth.secret_key,
            ("privacy", "id_hash_key"): self.privacy.id_hash_key,
            ("audit", "checkpoint_key"): self.audit.checkpoint_key,
        }
        if self.database.is_postgres:
            names = [_env_name(g, n) for (g, n), v in missing.items() if not v]
            if names:
                raise ValueError(f"生产模式必须配置密钥 / secrets required in production: {', '.join(names)}")
            checked = dict(missing)
            if self.storage.is_s3:  # the object store's key guards every photo and the audit checkpoints
                checked[("storage", "secret_key")] = self.storage.secret_key
            weak = [
                f"{_env_name(g, n)}: {problem}" for (g, n), v in checked.items() if (problem := weak_secret_problem(v))
            ]
            if weak:
                raise ValueError("生产模式的密钥不可用 / secrets unusable in production: " + "; ".join(weak))
            return self
        if all(missing.values()):
            return self
        key_dir = Path(self.server.data_dir)
        key_dir.mkdir(parents=True, exist_ok=True)
        auth, privacy, audit = self.auth, self.privacy, self.audit
        if not auth.secret_key:
            auth = dataclasses.replace(auth, secret_key=_persistent_secret(key_dir / "secret_key"))
        if not privacy.id_hash_key:
            privacy = dataclasses.replace(privacy, id_hash_key=_persistent_secret(key_dir / "id_hash_key"))
        if not audit.checkpoint_key:
            audit = dataclasses.replace(audit, checkpoint_key=_persistent_secret(key_dir / "audit_key"))
        return dataclasses.replace(self, auth=auth, privacy=privacy, audit=audit)


#: A production key shorter than this, or with fewer distinct characters, is refused.
MIN_SECRET_LENGTH = 32
_MIN_SECRET_VARIETY = 10
#: Words of the example values people paste into configuration.
_PLACEHOLDER_WORDS = ("changeme", "change-me", "change_me", "placeholder", "example", "sample", "replace", "your-", "todo")


def weak_secret_problem(value: str) -> str | None:
    """Why ``value`` is no key to trust in production (a placeholder, too short, too uniform), or ``None``."""
    lowered = value.lower()
    if any(word in lowered for word in _PLACEHOLDER_WORDS):
        return "像是示例占位值 / looks like a placeholder"
    if len(value) < MIN_SECRET_LENGTH:
        return f"少于 {MIN_SECRET_LENGTH} 个字符 / shorter than {MIN_SECRET_LENGTH} characters"
    if len(set(value)) < _MIN_SECRET_VARIETY:
        return "字符种类过少 / too few distinct characters"
    return None


class _GroupField(typing.NamedTuple):
    name: str
    type_cls: type


def _group_fields(cls: type) -> list[_GroupField]:
    hints = typing.get_type_hints(cls)
    return [_GroupField(f.name, hints[f.name]) for f in dataclasses.fields(cls)]


def _env_name(group: str, name: str) -> str:
    group_cls = typing.get_type_hints(Settings)[group]
    return next(f.metadata["env"] for f in dataclasses.fields(group_cls) if f.name == name)


def _load_group(group_cls: type, environ: typing.Mapping[str, str]) -> Any:
    hints = typing.get_type_hints(group_cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(group_cls):
        env = f.metadata["env"]
        if env in environ and f"{env}{_FILE_SUFFIX}" in environ:
            raise ValueError(f"{env} 与 {env}{_FILE_SUFFIX} 只能设置一个 / set {env} or {env}{_FILE_SUFFIX}, not both")
        if env in environ:
            values[f.name] = _convert(environ[env], hints[f.name], env)
        elif f"{env}{_FILE_SUFFIX}" in environ:
            values[f.name] = _convert(_read_setting_file(environ[f"{env}{_FILE_SUFFIX}"], env), hints[f.name], env)
    return group_cls(**values)


#: ``<VAR>_FILE=/run/secrets/x`` reads the setting from that file (Docker and Kubernetes secrets), keeping the
#: value out of the process environment that ``docker inspect`` shows.
_FILE_SUFFIX = "_FILE"


def _read_setting_file(path: str, env: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise ValueError(f"{env}{_FILE_SUFFIX}: 无法读取 / cannot read {path}: {exc.strerror}") from None


def _convert(raw: str, target: Any, env: str) -> Any:
    if isinstance(target, types.UnionType):
        target = next(t for t in typing.get_args(target) if t is not type(None))
    if target is bool:
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off", ""}:
            return False
        raise ValueError(f"{env}: expected a boolean, got {raw!r}")
    if target is int:
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{env}: expected an integer, got {raw!r}") from None
    if target is Path:
        return Path(raw)
    return raw


def _persistent_secret(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value


def iter_documented_settings() -> typing.Iterator[tuple[str, str, Any, str]]:
    """Yield ``(group, env var, default, doc)`` for every setting (used for the README table)."""
    for group in _group_fields(Settings):
        for f in dataclasses.fields(group.type_cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            yield group.name, f.metadata["env"], default, f.metadata["doc"]
