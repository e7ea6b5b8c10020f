# The worker image of the Kubernetes executor for the gpt template, CPU only (README.md "Kubernetes"):
# Node 24, git, curl, bubblewrap, Python with PyTorch (CPU wheels) and numpy, and this engine at
# /opt/autoresearch with `autoresearch` on PATH. Each experiment's pod runs `autoresearch job` in it.
# Build it from the repository's root and push it where the cluster pulls from:
#   docker build -t registry.example.com/you/autoresearch-worker:cpu -f Dockerfile .
#   docker push registry.example.com/you/autoresearch-worker:cpu
# Dockerfile.cuda is the same with PyTorch's CUDA wheels.
FROM node:24-bookworm-slim

# git fetches the candidate (the fetch-code init container), curl and tar the data archive (fetch-data),
# ssh the candidate over an SSH remote, bubblewrap sandboxes the proposed code.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates curl openssh-client bubblewrap python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*

# PyTorch and numpy in a venv at /opt/venv: the executor's pod environment puts /opt/venv/bin first on PATH
# and shows /opt/venv read-only in the sandbox (executor.sandboxReadOnly).
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch \
 && /opt/venv/bin/pip install --no-cache-dir numpy
ENV PATH=/opt/venv/bin:$PATH

# The engine: its runtime dependencies only (the base image brings Node 24; the dashboard's bundler is not used in a pod).
WORKDIR /opt/autoresearch
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY templates ./templates
RUN printf '#!/bin/sh\nexec node /opt/autoresearch/bin/autoresearch.js "$@"\n' > /usr/local/bin/autoresearch \
 && chmod 755 /usr/local/bin/autoresearch \
 && autoresearch --version
ENV AUTORESEARCH_HOME=/opt/autoresearch

WORKDIR /workspace
CMD ["autoresearch", "--help"]
