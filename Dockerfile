# syntax=docker/dockerfile:1
# The API image. The same image runs the migrations (`python manage.py setup_stores`),
# the events relay and the scheduled jobs. Test tooling (requirements-dev.txt) never enters
# it; the Locust load generator has an image of its own (the `loadtest` stage).
#
#   make docker-build            # docker build -t ecommerce-api:<version> .
#
# Stage 1 compiles the wheels (mysqlclient needs gcc and the MariaDB headers) into a
# virtualenv; the last stage copies only that virtualenv, the code and the collected static
# files, and runs as an unprivileged numeric user on a read-only root filesystem.
#
# The base image is pinned to its full patch tag. Pin its digest as well wherever a
# registry is reachable (`docker buildx imagetools inspect python:3.11.14-slim-bookworm`,
# then FROM python:3.11.14-slim-bookworm@sha256:<digest>, and let Renovate/Dependabot
# bump both): the digest could not be resolved from the offline machine this was written on.

FROM python:3.11.14-slim-bookworm AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Debian package versions follow the pinned base image's bookworm release plus its
# security updates; pinning exact revisions breaks the build when the archive drops them.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev libmariadb-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /build
COPY requirements.txt .
# setuptools comes with every venv and nothing here imports it at run time.
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip wheel --wheel-dir /build/wheels -r requirements.txt \
    && /opt/venv/bin/pip install --no-index --find-links /build/wheels -r requirements.txt \
    && /opt/venv/bin/pip uninstall --yes --quiet setuptools


# The load generator (`docker build --target loadtest`; docker-compose.yml's and
# deploy/k8s/loadtest's Locust): Locust and the locustfile, nothing of the API. Its own
# image because Locust brings pytest, gevent and Flask, which the API image must not carry.
# Placed before the runtime stage, so a plain `docker build` still ends with the API image.
FROM python:3.11.14-slim-bookworm AS loadtest

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

COPY requirements-loadtest.txt /tmp/
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install -r /tmp/requirements-loadtest.txt \
    && rm /tmp/requirements-loadtest.txt \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin app

WORKDIR /app
COPY loadtest/locustfile.py loadtest/
USER 10001:10001
EXPOSE 8089 5557
CMD ["locust", "-f", "loadtest/locustfile.py"]


FROM python:3.11.14-slim-bookworm AS runtime

# libmariadb3 is the client library mysqlclient links against; nothing else is added.
# The user has no home and no shell; 10001 is outside the range of the base image's users.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmariadb3 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin app

# The root filesystem is read-only at run time: no .pyc writes (they are compiled below),
# static files are collected into the image, gunicorn's heartbeat files go to /dev/shm.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    STATIC_ROOT=/app/staticfiles \
    PORT=8080

COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
# Code and static files stay owned by root: the app user can read them, not change them.
COPY . .

# collectstatic imports the settings, which demand a SECRET_KEY with DEBUG off. This
# throwaway value lives only in this RUN's environment, never in a layer or ENV.
RUN SECRET_KEY=build-only-not-a-secret python manage.py collectstatic --noinput --verbosity 0 \
    && python -m compileall -q /app

USER 10001:10001
EXPOSE 8080

# Liveness only (no database). Django checks the Host header against ALLOWED_HOSTS, so
# the check sends the first allowed host ("*" and ".domain" wildcards reduced to a name).
# The first check runs one interval after the start: 5 s, so a fresh container turns healthy
# within seconds (`make docker-smoke` reports how long); a check costs a Python start-up.
HEALTHCHECK --interval=5s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; h = os.environ.get('ALLOWED_HOSTS', 'localhost').split(',')[0].strip().lstrip('*.') or 'localhost'; r.urlopen(r.Request('http://127.0.0.1:%s/health/live' % os.environ.get('PORT', '8080'), headers={'Host': h}), timeout=4)"]

CMD ["gunicorn", "-c", "gunicorn.conf.py", "ecommerce.wsgi"]
