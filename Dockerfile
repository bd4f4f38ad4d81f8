# The returns engine: one image, two commands (`returns serve`, the push receiver; `returns worker`).
#   docker build -t rebound-returns-engine .
#   docker run --rm -p 127.0.0.1:8000:8000 --env-file /etc/returns/returns.env rebound-returns-engine
#   docker run --rm --no-healthcheck --env-file /etc/returns/returns.env rebound-returns-engine worker
# Configuration is the environment only (docs/deploy.md); no secret is baked in. See .dockerignore.
# Needs BuildKit (the default builder since Docker 23, and compose's): the runtime stage bind-mounts requirements.lock.
#
# The base is pinned by digest: the multi-arch index python:3.11-slim (= 3.11-slim-trixie) pointed to from
# 2026-08-16, CPython 3.11.16 on Debian trixie. It was not resolved here (no registry access) but taken from
# published pins of that tag that agree, among them a BuildKit log resolving docker.io/library/python:3.11-slim to it.
# Refresh it (and so check it) as a release step: `make pin-base` runs `docker buildx imagetools inspect
# python:3.11-slim` and writes the index digest it prints into both FROM lines; then rebuild and `make audit`
# (docs/deploy.md). The locks are resolved for CPython 3.11 (`make lock`): keep the tag's minor version.

# Build stage: the engine's wheel from the repository (the emulators are a separate distribution, never built).
FROM python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7 AS build
WORKDIR /src
# engine/shipped/{flows,schemas} are symlinks to the top-level folders: the wheel carries copies.
COPY pyproject.toml README.md ./
COPY flows/ flows/
COPY schemas/ schemas/
COPY engine/ engine/
RUN pip wheel --no-deps --no-cache-dir --wheel-dir /wheels .

# Runtime stage: the wheel and the dependencies requirements.lock pins, nothing else.
FROM python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RETURNS_DATA_DIR=/var/lib/returns
COPY --from=build /wheels/rebound_returns_engine-*.whl /tmp/wheels/
# The wheel without its dependencies, then exactly the locked ones: pip refuses a file whose hash is not in the
# lock and a dependency the lock lacks, and `pip check` confirms the lock satisfies what the wheel declares. The
# lock is mounted for this step only, so it is not left in the image.
RUN --mount=type=bind,source=requirements.lock,target=/tmp/requirements.lock \
    pip install --no-cache-dir --no-deps /tmp/wheels/rebound_returns_engine-*.whl \
 && pip install --no-cache-dir --require-hashes -r /tmp/requirements.lock \
 && pip check \
 && rm -rf /tmp/wheels \
 && groupadd --system --gid 10001 returns \
 && useradd --system --uid 10001 --gid returns --home-dir /var/lib/returns --shell /usr/sbin/nologin returns \
 && install -d -o returns -g returns -m 0750 /var/lib/returns
# A numeric user, so orchestrators can check it is not root. RETURNS_DATA_DIR holds the embedded default's SQLite
# file only; production keeps held events in PostgreSQL (RETURNS_DATABASE_URL).
USER 10001:10001
WORKDIR /var/lib/returns
EXPOSE 8000
# Liveness of `returns serve` (no curl in slim). A worker container serves no HTTP: run it with --no-healthcheck
# (docker-compose.temporal.yml disables it for returns-worker).
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/healthz' % os.getenv('RETURNS_SERVE_PORT', '8000'), timeout=4)"]
# Both commands stop cleanly on SIGTERM and exit 0 (serve finishes requests in flight, worker gives activities 10 s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["returns"]
# Inside a container the receiver must bind every interface; publish the port on the host's loopback or put it
# behind the HTTPS terminator.
CMD ["serve", "--host", "0.0.0.0"]
