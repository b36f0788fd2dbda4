# syntax=docker/dockerfile:1
# The Rasa server. Rasa 3.6 runs on Python 3.10 only; the model is trained while the image
# is built, so a container starts serving without training anything.
#
# Build from the repository root (docker/compose.yml does this):
#   docker build -f docker/rasa.Dockerfile -t hotline-rasa .
FROM python:3.10-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    RASA_TELEMETRY_ENABLED=false \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    PYTHONWARNINGS=ignore

# Same uid as the app image: both write to the shared /data volume.
RUN groupadd --gid 10001 hotline \
    && useradd --create-home --uid 10001 --gid 10001 hotline \
    && mkdir -p /app /data \
    && chown hotline:hotline /data

WORKDIR /app

# The known-good pin set for Rasa 3.6.21 on Python 3.10.
COPY requirements/rasa.txt requirements/rasa-constraints.txt requirements/
RUN pip install -r requirements/rasa.txt -c requirements/rasa-constraints.txt

COPY bot/ bot/
# The pipeline's tokenizer rewrites spoken numbers with hotline.spoken (stdlib only).
COPY hotline/__init__.py hotline/spoken.py hotline/intents.py hotline/
ENV PYTHONPATH=/app
COPY docker/endpoints.yml docker/endpoints.yml

WORKDIR /app/bot
RUN rasa train --domain domain --data data --config config.yml --out models --fixed-model-name hotline \
    && rm -rf .rasa

# Defaults for the ${VAR}s in docker/endpoints.yml (Rasa needs every one of them set):
# an SQLite tracker store on the data volume and an in-memory lock store.
# hadolint ignore=DL3064
ENV TRACKER_DIALECT=sqlite \
    TRACKER_HOST="" \
    TRACKER_DB=/data/tracker.db \
    TRACKER_USER="" \
    TRACKER_PASSWORD="" \
    LOCK_STORE_TYPE=in_memory \
    REDIS_HOST=""

USER 10001:10001
EXPOSE 5005

# The HTTP API always needs a token: refuse to start without one.
CMD ["sh", "-c", ": \"${HOTLINE_RASA_AUTH_TOKEN:?set HOTLINE_RASA_AUTH_TOKEN}\"; exec rasa run --enable-api --auth-token \"$HOTLINE_RASA_AUTH_TOKEN\" -i 0.0.0.0 -p 5005 -m /app/bot/models/hotline.tar.gz --endpoints /app/docker/endpoints.yml --credentials /app/bot/credentials.yml"]
