# The fieldcheck images (used by docker-compose.yml). Build: docker build -t fieldcheck .  (the API, the last stage)
# and docker build --target backup -t fieldcheck-backup .  Every base image is pinned by version and digest.

# The pages' npm libraries, installed from the lock file and served by the API itself (no CDN).
FROM node:24.20.0-bookworm-slim@sha256:ba849c60be29959425b8734d57b8b4b7d56f98edd9504c9af091d5281095a71e AS assets
WORKDIR /assets
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

# Only the files the pages load (web/vendor.json) go into the image.
FROM python:3.11.15-slim-bookworm@sha256:d29f48a31a8b408ed19272ca1e7b10ebae13b240a27e862d3d4217c528e2e0c3 AS web
WORKDIR /assets
COPY --from=assets /assets/node_modules ./node_modules
COPY web/vendor.json web/build.py ./web/
RUN python web/build.py

# The Python application, shared by the API and the backup service.
FROM python:3.11.15-slim-bookworm@sha256:d29f48a31a8b408ed19272ca1e7b10ebae13b240a27e862d3d4217c528e2e0c3 AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Runtime dependencies only, at the versions of deploy/requirements.lock (deploy/lock_requirements.py makes it),
# then the project itself without resolving anything more; pip check fails the build on a gap in the lock.
COPY deploy/requirements.lock ./deploy/requirements.lock
RUN pip install -r deploy/requirements.lock
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY server ./server
COPY storage ./storage
COPY sync_client ./sync_client
RUN pip install --no-deps . && pip check
RUN useradd --system --create-home --home-dir /var/lib/fieldcheck fieldcheck

# The backup service (deploy/backup.py): pg_dump 15 from Debian bookworm, the same major as the database.
FROM runtime AS backup
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client-15 \
    && rm -rf /var/lib/apt/lists/*
COPY deploy ./deploy
RUN install -d -o fieldcheck -g fieldcheck /backups
USER fieldcheck
VOLUME ["/backups"]
CMD ["python", "-m", "deploy.backup"]

# The API (the default target), with the CJK fonts every enforcement document embeds (Song-style body,
# Hei-style headings; the backup service renders nothing).
FROM runtime AS api
RUN apt-get update && apt-get install -y --no-install-recommends fonts-arphic-uming fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*
COPY web ./web
COPY --from=web /assets/web/dist ./web/dist
USER fieldcheck

ENV FIELDCHECK_HOST=0.0.0.0 \
    FIELDCHECK_PORT=8000 \
    FIELDCHECK_DATA_DIR=/var/lib/fieldcheck \
    FIELDCHECK_WEB_DIR=/app/web
EXPOSE 8000
VOLUME ["/var/lib/fieldcheck"]

HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=12 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=3)"

# Migrations are applied by the app at start-up.
CMD ["fieldcheck", "serve"]
