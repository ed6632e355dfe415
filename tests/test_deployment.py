"""docker-compose.yml and the Dockerfile agree with server/settings.py (no Docker engine is needed to check that)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from server.settings import Settings, iter_documented_settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
DOCUMENTED = {env: default for _, env, default, _ in iter_documented_settings()}
_VAR = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")


def _environment(service: str) -> dict[str, str]:
    env = SERVICES[service].get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def _interpolate(value: str, values: dict[str, str]) -> str:
    """What compose substitutes, with every ``${VAR…}`` replaced by a sample value."""
    return _VAR.sub(lambda m: values.get(m.group(1), f"sample-{m.group(1).lower()}"), value)


def _published(service: str) -> dict[int, int]:
    ports = {}
    for entry in SERVICES[service].get("ports", []):
        host, container = str(entry).rsplit(":", 2)[-2:]
        ports[int(container)] = int(host)
    return ports


def test_services_and_health_checks():
    assert {"postgres", "minio", "minio-init", "api"} <= set(SERVICES)
    for name in ("postgres", "minio", "api"):
        assert SERVICES[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    assert SERVICES["api"]["build"]["context"] == "."
    assert (ROOT / SERVICES["api"]["build"].get("dockerfile", "Dockerfile")).exists()
    depends = SERVICES["api"]["depends_on"]
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["minio-init"]["condition"] == "service_completed_successfully"
    assert SERVICES["minio-init"]["depends_on"]["minio"]["condition"] == "service_healthy"


def test_named_volumes_are_declared_and_hold_the_data():
    declared = set(COMPOSE.get("volumes", {}))
    mounts = {
        name: {str(v).split(":")[0]: str(v).split(":")[1] for v in SERVICES[name].get("volumes", [])}
        for name in ("postgres", "minio", "api")
    }
    for name, volumes in mounts.items():
        assert volumes, f"{name} keeps its data in no volume"
        assert set(volumes) <= declared
    assert "/var/lib/postgresql/data" in mounts["postgres"].values()
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
    operator = {name: strong + name for name in ("FIELDCHECK_SECRET_KEY", "FIELDCHECK_ID_HASH_KEY", "FIELDCHECK_AUDIT_KEY")}
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


def test_object_store_settings_point_at_minio_and_its_bucket():
    api_env = _environment("api")
    minio_env = _environment("minio")
    host, port = api_env["S3_ENDPOINT"].split(":")
    assert host == "minio"
    assert f":{port}" in " ".join(SERVICES["minio"]["command"])
    assert api_env["S3_ACCESS_KEY"] == minio_env["MINIO_ROOT_USER"]
    assert api_env["S3_SECRET_KEY"] == minio_env["MINIO_ROOT_PASSWORD"]
    init = SERVICES["minio-init"]
    init_env = _environment("minio-init")
    assert init_env["S3_BUCKET"] == api_env["S3_BUCKET"]
    script = " ".join(init["entrypoint"])
    assert f"http://minio:{port}" in script and "mc mb" in script and "$$S3_BUCKET" in script
    # Object lock on the bucket exactly when the API expects it.
    assert ("--with-lock" in script) == (api_env["S3_OBJECT_LOCK"].lower() == "true")


def test_ports_agree_with_the_settings_and_the_image():
    api_env = _environment("api")
    port = int(api_env["FIELDCHECK_PORT"])
    assert port in _published("api")
    assert f"127.0.0.1:{port}/health" in " ".join(SERVICES["api"]["healthcheck"]["test"])
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"EXPOSE {port}" in dockerfile
    assert f"FIELDCHECK_PORT={port}" in dockerfile
    assert re.search(r'CMD \["fieldcheck", "serve"\]', dockerfile)
    for package in ("schemas", "server", "storage", "sync_client"):
        assert f"COPY {package} ./{package}" in dockerfile
    assert DOCUMENTED["FIELDCHECK_PORT"] == port  # the image and compose use the documented default


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
