# The fieldcheck API image (used by docker-compose.yml). Build: docker build -t fieldcheck .

# The pages' npm libraries, installed from the lock file and served by the API itself (no CDN).
FROM node:20-slim AS assets
WORKDIR /assets
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

# Only the files the pages load (web/vendor.json) go into the image.
FROM python:3.11-slim AS web
WORKDIR /assets
COPY --from=assets /assets/node_modules ./node_modules
COPY web/vendor.json web/build.py ./web/
RUN python web/build.py

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY server ./server
COPY storage ./storage
COPY sync_client ./sync_client
RUN pip install .
COPY web ./web
COPY --from=web /assets/web/dist ./web/dist

RUN useradd --system --create-home --home-dir /var/lib/fieldcheck fieldcheck
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
