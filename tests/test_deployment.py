"""docker-compose.yml and the Dockerfile agree with server/settings.py and keep the deployment's promises:
images pinned by version and digest, TLS at the proxy, nothing but the proxy published (no Docker engine is
needed to check that)."""

from __future__ import annotations

import ipaddress
import json
import re
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from server.settings import Settings, iter_documented_settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
DOCUMENTED = {env: default for _, env, default, _ in iter_documented_settings()}
_VAR = re.compile(r"\$\{([A-Z0-9_]+)(?::?([-?])([^}]*))?\}")
#: ``name:tag@sha256:<64 hex>`` — a tag people read and the digest that fixes the bytes.
_PINNED = re.compile(r"^[a-z0-9./_-]+:(?P<tag>[A-Za-z0-9._-]+)@sha256:[0-9a-f]{64}$")
CADDYFILE = (ROOT / "deploy" / "Caddyfile").read_text()


def _environment(service: str) -> dict[str, str]:
    env = SERVICES[service].get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def _interpolate(value: str, values: dict[str, str]) -> str:
    """What compose substitutes: ``values``, else a ``:-default``, else a sample value."""

    def one(m: re.Match[str]) -> str:
        if m.group(1) in values:
            return values[m.group(1)]
        return m.group(3) if m.group(2) == "-" else f"sample-{m.group(1).lower()}"

    return _VAR.sub(one, str(value))


def _published(service: str) -> dict[int, int]:
    ports = {}
    for entry in SERVICES[service].get("ports", []):
        host, container = str(entry).rsplit(":", 2)[-2:]
        ports[int(container)] = int(host)
    return ports


COMPOSE_SCHEMA = json.loads((ROOT / "deploy" / "compose-spec" / "compose-spec.json").read_text())


def _interpolated(node, values: dict[str, str]):  # type: ignore[no-untyped-def]
    """``node`` with every string interpolated as compose would before validating it."""
    if isinstance(node, dict):
        return {key: _interpolated(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [_interpolated(value, values) for value in node]
    return _interpolate(node, values).replace("$$", "$") if isinstance(node, str) else node


@pytest.mark.parametrize("stage", ["as written", "interpolated"])
def test_the_compose_file_is_valid_under_the_compose_specification(stage):
    """What `docker compose config` checks first (Docker's compose plugin is not installed here)."""
    document = COMPOSE if stage == "as written" else _interpolated(COMPOSE, {})
    errors = sorted(jsonschema.Draft7Validator(COMPOSE_SCHEMA).iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "; ".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5])


def test_the_schema_check_catches_what_compose_would_refuse():
    validator = jsonschema.Draft7Validator(COMPOSE_SCHEMA)
    for broken in (
        {**COMPOSE, "services": {**SERVICES, "api": {**SERVICES["api"], "prots": ["8000:8000"]}}},  # a misspelt key
        {**COMPOSE, "services": {**SERVICES, "store": {**SERVICES["store"], "depends_on": {"postgres": {"condition": "up"}}}}},
        {**COMPOSE, "volumes": ["pgdata"]},  # a list where a mapping belongs
    ):
        assert list(validator.iter_errors(broken))


def test_services_and_health_checks():
    assert {"proxy", "postgres", "store", "api"} <= set(SERVICES)
    for name in ("proxy", "postgres", "store", "api"):
        assert SERVICES[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    assert SERVICES["api"]["build"]["context"] == "."
    assert (ROOT / SERVICES["api"]["build"].get("dockerfile", "Dockerfile")).exists()
    depends = SERVICES["api"]["depends_on"]
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["store"]["condition"] == "service_healthy"
    assert SERVICES["proxy"]["depends_on"]["api"]["condition"] == "service_healthy"


def test_named_volumes_are_declared_and_hold_the_data():
    declared = set(COMPOSE.get("volumes", {}))
    mounts = {
        name: {str(v).split(":")[0]: str(v).split(":")[1] for v in SERVICES[name].get("volumes", [])}
        for name in ("postgres", "store", "api")
    }
    for name, volumes in mounts.items():
        assert volumes, f"{name} keeps its data in no volume"
        assert set(volumes) <= declared
    assert "/var/lib/postgresql/data" in mounts["postgres"].values()
    assert "/data" in mounts["store"].values()
    api_env = _environment("api")
    assert api_env["FIELDCHECK_DATA_DIR"] in mounts["api"].values()


def test_api_environment_is_made_of_documented_settings_and_selects_production_mode():
    api_env = _environment("api")
    unknown = set(api_env) - set(DOCUMENTED)
    assert not unknown, f"docker-compose sets variables server/settings.py does not read: {sorted(unknown)}"
    for required in ("DATABASE_URL", "S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_BUCKET", "FIELDCHECK_SECRET_KEY", "FIELDCHECK_ID_HASH_KEY", "FIELDCHECK_AUDIT_KEY"):
        assert required in api_env, required
    # Secrets come from the operator, never from the file.
    for secret in ("FIELDCHECK_SECRET_KEY", "FIELDCHECK_ID_HASH_KEY", "FIELDCHECK_AUDIT_KEY", "S3_SECRET_KEY"):
        assert _VAR.fullmatch(api_env[secret]) and ":?" in api_env[secret], f"{secret} must be ${{VAR:?…}}"
    strong = "k7-0123456789abcdefghijklmnopqrstuvwxyz"  # placeholders and weak keys are refused
    operator = {
        name: strong + name
        for name in ("FIELDCHECK_SECRET_KEY", "FIELDCHECK_ID_HASH_KEY", "FIELDCHECK_AUDIT_KEY", "S3_SECRET_KEY")
    }
    settings = Settings.from_env({k: _interpolate(v, operator) for k, v in api_env.items()})
    assert settings.database.is_postgres and settings.storage.is_s3
    assert settings.server.host == "0.0.0.0"
    settings.with_secrets()  # production mode accepts the configured secrets


def test_database_url_points_at_the_postgres_service_and_any_password_works():
    pg_env, api_env = _environment("postgres"), _environment("api")
    sample = {"POSTGRES_PASSWORD": "p@ss:w/rd%#?"}  # every character a URL would choke on
    url = urlsplit(_interpolate(api_env["DATABASE_URL"], sample))
    assert url.scheme in ("postgres", "postgresql")
    assert url.hostname == "postgres" and (url.port or 5432) == 5432
    assert url.username == pg_env["POSTGRES_USER"]
    assert url.path.lstrip("/") == pg_env["POSTGRES_DB"]
    assert url.password is None  # kept out of the URL ...
    password = _interpolate(api_env["DATABASE_PASSWORD"], sample)
    assert password == _interpolate(pg_env["POSTGRES_PASSWORD"], sample)  # ... and handed over whole
    settings = Settings.from_env({"DATABASE_URL": _interpolate(api_env["DATABASE_URL"], sample), "DATABASE_PASSWORD": password})
    from server import database

    with warnings.catch_warnings():  # Piccolo asks the (absent) server for its version when an engine is built
        warnings.simplefilter("ignore")
        engine = database.build_engine(settings)
    assert engine.config["password"] == "p@ss:w/rd%#?" and engine.config["dsn"] == "postgresql://fieldcheck@postgres:5432/fieldcheck"


def test_object_store_settings_point_at_the_store_and_it_keeps_object_lock():
    api_env = _environment("api")
    store_env = _environment("store")
    host, port = api_env["S3_ENDPOINT"].split(":")
    assert host == "store"
    start = " ".join(SERVICES["store"]["entrypoint"])
    assert f"--port :{port}" in start
    assert f"127.0.0.1:{port}/health" in " ".join(SERVICES["store"]["healthcheck"]["test"])
    assert api_env["S3_ACCESS_KEY"] == store_env["ROOT_ACCESS_KEY"]
    assert api_env["S3_SECRET_KEY"] == store_env["ROOT_SECRET_KEY"]
    # The API creates the bucket with object lock; versitygw's posix backend locks objects only with versioning on.
    assert api_env["S3_OBJECT_LOCK"].lower() == "true"
    assert re.search(r"posix --versioning-dir (\S+) (\S+)", start)
    versions, objects = re.search(r"posix --versioning-dir (\S+) (\S+)", start).groups()
    assert f"mkdir -p {objects} {versions}" in start and not versions.startswith(objects + "/")


def test_ports_agree_with_the_settings_and_the_image():
    api_env = _environment("api")
    port = int(api_env["FIELDCHECK_PORT"])
    assert str(port) in [str(p) for p in SERVICES["api"].get("expose", [])]
    assert f"127.0.0.1:{port}/health" in " ".join(SERVICES["api"]["healthcheck"]["test"])
    assert re.search(rf"^\s*reverse_proxy api:{port}\s*$", CADDYFILE, re.M)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"EXPOSE {port}" in dockerfile
    assert f"FIELDCHECK_PORT={port}" in dockerfile
    assert re.search(r'CMD \["fieldcheck", "serve"\]', dockerfile)
    for package in ("schemas", "server", "storage", "sync_client"):
        assert f"COPY {package} ./{package}" in dockerfile
    assert DOCUMENTED["FIELDCHECK_PORT"] == port  # the image and compose use the documented default


def test_only_the_proxy_is_published_and_the_internals_are_on_a_closed_network():
    published = {name: _published(name) for name in SERVICES if SERVICES[name].get("ports")}
    assert published == {"proxy": {80: 80, 443: 443}}, published
    networks = COMPOSE["networks"]
    for name, service in SERVICES.items():
        if name in ("proxy", "api"):
            continue
        joined = service.get("networks", [])
        assert joined and all(networks[n].get("internal") is True for n in joined), f"{name} must be on internal networks only"
    assert "network_mode" not in " ".join(str(s) for s in SERVICES.values())
    # The API is reachable from the proxy, and from nowhere else outside.
    assert set(SERVICES["proxy"]["networks"]) & set(SERVICES["api"]["networks"])
    assert all(networks[n].get("internal") for n in SERVICES["api"]["networks"] if n not in SERVICES["proxy"]["networks"])


def test_the_proxy_terminates_tls_for_the_domain_and_is_the_only_trusted_forwarder():
    assert re.search(r"^\{\$FIELDCHECK_DOMAIN\} \{", CADDYFILE, re.M)
    assert re.search(r"^\s*tls \{\$FIELDCHECK_TLS:internal\}", CADDYFILE, re.M)
    assert "http://" not in CADDYFILE.split("{$FIELDCHECK_DOMAIN}")[0]  # no plain-HTTP site before the TLS one
    proxy_env = _environment("proxy")
    assert _VAR.fullmatch(proxy_env["FIELDCHECK_DOMAIN"]) and ":?" in proxy_env["FIELDCHECK_DOMAIN"]
    mounts = [str(v) for v in SERVICES["proxy"]["volumes"]]
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in mounts
    proxy_ip = ipaddress.ip_address(_interpolate(SERVICES["proxy"]["networks"]["edge"]["ipv4_address"], {}))
    edge = ipaddress.ip_network(_interpolate(COMPOSE["networks"]["edge"]["ipam"]["config"][0]["subnet"], {}))
    assert proxy_ip in edge
    trusted = Settings.from_env({"FIELDCHECK_TRUSTED_PROXIES": _interpolate(_environment("api")["FIELDCHECK_TRUSTED_PROXIES"], {})})
    assert trusted.auth.trusted_proxy_networks == (ipaddress.ip_network(proxy_ip),)


def test_every_image_is_pinned_by_version_and_digest():
    for name, service in SERVICES.items():
        if "build" in service:
            assert ":" in service["image"] and "/" not in service["image"], f"{name} builds a local image"
            continue
        match = _PINNED.match(service["image"])
        assert match, f"{name}: {service['image']} is not name:tag@sha256:<digest>"
        tag = match.group("tag")
        assert tag != "latest" and re.search(r"\d+\.\d+", tag), f"{name}: {tag} names no version"
    assert "minio" not in (ROOT / "docker-compose.yml").read_text().lower()  # MinIO's community images are gone


def test_env_example_names_every_variable_compose_requires():
    required = set()
    for service in SERVICES.values():
        for value in _flatten(service):
            required |= {m.group(1) for m in _VAR.finditer(value) if ":?" in m.group(0)}
    example = {line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines() if "=" in line and not line.startswith("#")}
    assert required and required <= example


def _flatten(node):  # type: ignore[no-untyped-def]
    if isinstance(node, dict):
        for value in node.values():
            yield from _flatten(value)
    elif isinstance(node, list):
        for value in node:
            yield from _flatten(value)
    elif isinstance(node, str):
        yield node


def test_dockerfile_environment_is_made_of_documented_settings():
    dockerfile = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    names = set()
    for line in dockerfile.splitlines():
        if line.startswith("ENV "):
            names |= set(re.findall(r"([A-Z][A-Z0-9_]*)=", line))
    app_settings = {n for n in names if n.startswith(("FIELDCHECK_", "DATABASE_", "S3_", "EVIDENCE_", "HAZARD_", "SYNC_", "SPOTCHECK_", "ENFORCEMENT_"))}
    assert {"FIELDCHECK_HOST", "FIELDCHECK_PORT", "FIELDCHECK_DATA_DIR"} <= app_settings
    assert app_settings <= set(DOCUMENTED), sorted(app_settings - set(DOCUMENTED))
    # The pages' built libraries are copied to the folder the setting names.
    web = re.search(r"FIELDCHECK_WEB_DIR=(\S+)", dockerfile)
    assert web, "the image must say where the pages and their libraries are"
    assert re.search(r"^WORKDIR /app$", dockerfile, re.M) and web.group(1) == "/app/web"
    assert re.search(r"^COPY web \./web$", dockerfile, re.M)
    assert re.search(r"^COPY --from=web \S+/web/dist \./web/dist$", dockerfile, re.M)


def test_the_dockerfile_builds_from_pinned_images_and_has_the_stages_compose_builds():
    dockerfile = (ROOT / "Dockerfile").read_text()
    bases = re.findall(r"^FROM (\S+)(?: AS (\S+))?$", dockerfile, re.M)
    stages = {stage for _, stage in bases if stage}
    for image, _ in bases:
        assert image in stages or _PINNED.match(image), f"FROM {image} is not name:tag@sha256:<digest>"
    assert bases[-1][1] == "api"  # a plain `docker build .` gives the API
    for name, service in SERVICES.items():
        target = service.get("build", {}).get("target")
        assert target is None or target in stages, f"{name} builds a stage the Dockerfile lacks"


def test_the_backup_service_dumps_the_database_and_mirrors_the_store_on_a_schedule():
    backup = SERVICES["backup"]
    assert backup["build"]["target"] == "backup" and backup["build"]["context"] == "."
    assert backup["command"] == ["python", "-m", "deploy.backup"] and (ROOT / "deploy" / "backup.py").exists()
    assert backup.get("restart") == "unless-stopped"  # it runs on: the schedule is its own loop
    for needed in ("postgres", "store"):
        assert backup["depends_on"][needed]["condition"] == "service_healthy"
    env, api_env = _environment("backup"), _environment("api")
    for name in ("DATABASE_URL", "DATABASE_PASSWORD", "S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_BUCKET", "S3_SECURE", "S3_OBJECT_LOCK"):
        assert env[name] == api_env[name], name
    # It needs no key of the app's own: it cannot sign tokens or checkpoints.
    assert not {"FIELDCHECK_SECRET_KEY", "FIELDCHECK_ID_HASH_KEY", "FIELDCHECK_AUDIT_KEY"} & set(env)
    assert set(env) - set(DOCUMENTED) == {"BACKUP_DIR", "BACKUP_INTERVAL_S", "BACKUP_KEEP"}
    mounts = {str(v).split(":")[0]: str(v).split(":")[1] for v in backup["volumes"]}
    assert mounts == {"backups": env["BACKUP_DIR"]} and "backups" in COMPOSE["volumes"]
    assert int(_interpolate(env["BACKUP_INTERVAL_S"], {})) >= 3600 and int(_interpolate(env["BACKUP_KEEP"], {})) >= 7
    assert "fieldcheck-*.dump" in " ".join(backup["healthcheck"]["test"])
    dockerfile = (ROOT / "Dockerfile").read_text()
    stage = dockerfile.split("AS backup", 1)[1].split("\nFROM ", 1)[0]
    assert "postgresql-client-15" in stage and "COPY deploy ./deploy" in stage  # pg_dump of the database's major
    assert SERVICES["postgres"]["image"].startswith("postgres:15.")


def test_the_image_installs_the_locked_runtime_dependencies_and_only_the_served_assets():
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    from deploy.lock_requirements import read_lock, runtime_requirements

    pins = read_lock((ROOT / "deploy" / "requirements.lock").read_text())
    for requirement in runtime_requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is a dependency but not in deploy/requirements.lock (run deploy/lock_requirements.py)"
        assert requirement.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} breaks {requirement}"
    test_tools = {canonicalize_name(Requirement(r).name) for r in _test_extras()}
    assert not test_tools & set(pins) - {"pyyaml"}, sorted(test_tools & set(pins))  # pyyaml: litestar's own
    dockerfile = (ROOT / "Dockerfile").read_text()
    runtime = dockerfile.split("AS runtime", 1)[1].split("\nFROM ", 1)[0]
    assert "RUN pip install -r deploy/requirements.lock" in runtime
    assert re.search(r"^RUN pip install --no-deps \. && pip check$", runtime, re.M)
    assert "[test]" not in dockerfile
    # The API stage ships the built vendor folder, never node_modules or whole packages.
    api = dockerfile.split("AS api", 1)[1]
    assert "node_modules" not in api and "--from=assets" not in api


def _test_extras() -> list[str]:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]


def test_documents_point_at_the_proxy_and_the_api_image_has_their_fonts():
    api_env, proxy_env = _environment("api"), _environment("proxy")
    assert api_env["DOCUMENT_PUBLIC_URL"] == "https://" + proxy_env["FIELDCHECK_DOMAIN"]
    assert _interpolate(api_env["DOCUMENT_PUBLIC_URL"], {"FIELDCHECK_DOMAIN": "aj.example"}) == "https://aj.example"
    api_stage = (ROOT / "Dockerfile").read_text().split("AS api", 1)[1]
    # The default font files are Debian's packages of these names; the image installs them where the API runs.
    fonts = {"DOCUMENT_BODY_FONT": "fonts-arphic-uming", "DOCUMENT_HEADING_FONT": "fonts-wqy-microhei"}
    for setting, package in fonts.items():
        assert setting not in api_env and str(DOCUMENTED[setting]).startswith("/usr/share/fonts/truetype/")
        assert package in api_stage, f"the API image lacks {package} ({DOCUMENTED[setting]})"
