# One image for every Taskboard service: the web server (default), a Celery worker, Celery beat.
#   docker build -t taskboard .
#   docker run --init -e SECRET_KEY=... -e REDIS_URL=redis://... taskboard
#   docker run --init ... taskboard celery -A tasks worker -Q default,heavy
# docker-compose.yml runs all of them; see docs/deploy.md.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# Builder: install every requirement into a virtualenv, with the build tools that may need.
FROM ${PYTHON_IMAGE} AS builder
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt /tmp/requirements.txt
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt

# Final: the installed virtualenv and the code (no compiler, no wheels left in any layer), run
# as an unprivileged user.
FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TASKBOARD_ENV=production \
    HOST=0.0.0.0 \
    PORT=5000 \
    UPLOAD_DIR=/data/uploads
COPY --from=builder /opt/venv /opt/venv
# A fixed uid, so a shared upload volume (NFS on other hosts too) has one owner everywhere.
# The folders exist in the image so that new named volumes mounted there inherit the owner.
RUN groupadd --system --gid 10001 taskboard \
    && useradd --system --uid 10001 --gid taskboard --home-dir /app --shell /usr/sbin/nologin taskboard \
    && mkdir -p /data/uploads /data/beat \
    && chown -R taskboard:taskboard /data
WORKDIR /app
# The code stays owned by root: the service user can read it, not change it.
COPY webapp ./webapp
COPY tasks ./tasks
COPY static ./static
COPY templates ./templates
# Numeric, so an orchestrator can verify it is not root (runAsNonRoot).
USER 10001:10001
EXPOSE 5000
CMD ["python", "-m", "webapp"]
