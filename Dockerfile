# syntax=docker/dockerfile:1
# One image for every Procfile role: `docker run IMAGE <role>` runs that Procfile line
# (web, worker, beat, release, or any role added later) through docker/entrypoint.py.
# scripts/image_structure.py assembles a directory the way the final stage below does (its
# COPY lines, .dockerignore and the RUN lines that call manage.py) and verifies it, so keep
# app files arriving through plain COPY lines and build steps that run the app through manage.py.

# ---- build: compile the dependencies into a virtualenv ---------------------------------------
# The same base in both stages (the virtualenv's interpreter path must exist in the second);
# Dependabot (.github/dependabot.yml) keeps the tag current.
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
# A compiler for the few requirements that may ship no wheel for this platform; it stays in
# this stage.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install --requirement /tmp/requirements.txt \
    && /opt/venv/bin/python -m compileall -q /opt/venv

# ---- runtime: the venv, the app and its collected static files, run as a non-root user -------
FROM python:3.11-slim-bookworm AS runtime
# The app's files stay owned by root: the process that serves them cannot rewrite them.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /home/app --create-home \
       --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
# Production unless told otherwise; secrets arrive at run time (docker/entrypoint.py reads
# them from Secret Manager), never in the image.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    SAAS_ENVIRONMENT=production \
    PORT=8000 \
    BEAT_SCHEDULE_FILE=/tmp/celerybeat-schedule
WORKDIR /app
COPY . /app
# collectstatic only reads settings, which in production refuse to load without these; the
# values are placeholders of no deployment (nothing connects to them). WhiteNoise serves the
# hashed, compressed output.
RUN SECRET_KEY=collectstatic-build-placeholder-of-no-deployment-0123456789abcdef \
    SAAS_BASE_DOMAIN=build.invalid DATABASE_URL=postgres://build@127.0.0.1:5432/build \
    REDIS_URL=redis://127.0.0.1:6379/0 EMAIL_URL=smtp://127.0.0.1:25 \
    python manage.py collectstatic --noinput --verbosity 0
RUN python -m compileall -q /app
USER app:app
EXPOSE 8000
# Health is checked per role by the platform (load balancer: /readyz; instance groups: /healthz);
# worker and beat serve no HTTP, so one image-wide HEALTHCHECK would be wrong for them.
# checkov:skip=CKV_DOCKER_2: health is checked per role by the load balancer and the instance groups
ENTRYPOINT ["python", "/app/docker/entrypoint.py"]
CMD ["web"]
