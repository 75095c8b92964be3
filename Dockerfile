# The image every node of a cluster runs: the official Ray image of the pinned Ray and
# Python, with torch and distributed_seqgan installed at the versions of constraints.txt.
#
#   docker build -t distributed-seqgan:0.1.0-cpu .                          # CPU nodes
#   docker build --build-arg VARIANT=gpu -t distributed-seqgan:0.1.0-gpu .  # CUDA nodes
#
# RAY_VERSION and PYTHON must equal constraints.txt's ray pin and python line (a test
# checks it). The gpu variant's base image has CUDA; torch's PyPI wheel brings its own.
# The s3 and gcs extras (pinned in constraints.txt) let run.storage_path be s3:// or gs://.
ARG RAY_VERSION=2.60.0
ARG PYTHON=py311
ARG VARIANT=cpu
FROM rayproject/ray:${RAY_VERSION}-${PYTHON}-${VARIANT}

ARG VARIANT=cpu
ARG TORCH_VERSION=2.13.0
# The CPU variant takes PyTorch's CPU-only build (no CUDA libraries in the image).
ARG TORCH_INDEX_CPU=https://download.pytorch.org/whl/cpu

WORKDIR /home/ray/distributed_seqgan
COPY --chown=ray:users constraints.txt pyproject.toml README.md ./
COPY --chown=ray:users distributed_seqgan ./distributed_seqgan
COPY --chown=ray:users configs ./configs
RUN if [ "$VARIANT" = "cpu" ]; then extra="--extra-index-url $TORCH_INDEX_CPU"; else extra=""; fi \
 && pip install --no-cache-dir $extra -c constraints.txt "torch==${TORCH_VERSION}" \
 && pip install --no-cache-dir -c constraints.txt ".[s3,gcs]" \
 && seqgan --help > /dev/null && ray --version

# Data: mount a directory and point SEQGAN_DATA_DIR at it, or set SEQGAN_DATA_MIRROR.
ENV SEQGAN_CACHE_DIR=/home/ray/.cache/distributed_seqgan
