# syntax=docker/dockerfile:1
# ganctl worker: TensorFlow comes from the base image; pip adds only ganctl's core deps
# (celery, sqlalchemy, psycopg, pillow, ...), never a second TensorFlow.
#
#   GPU (default):  docker build -f docker/worker.Dockerfile -t ganctl/worker .
#   CPU:            docker build -f docker/worker.Dockerfile \
#                       --build-arg BASE_IMAGE=tensorflow/tensorflow:2.21.0 -t ganctl/worker-cpu .
# Build from the repository root (the context is `..` in docker/compose.yaml).
ARG BASE_IMAGE=tensorflow/tensorflow:2.21.0-gpu
FROM ${BASE_IMAGE}

ARG GANCTL_UID=10001
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_BREAK_SYSTEM_PACKAGES=1 \
    TF_CPP_MIN_LOG_LEVEL=1 \
    HOME=/home/ganctl \
    GANCTL_HOME=/home/ganctl/.ganctl \
    GANCTL_ARTIFACTS_DIR=/artifacts \
    GANCTL_DATA_DIR=/data

# A fixed non-root uid shared with cli.Dockerfile, so both images can write the artifacts
# volume. The folders exist in the image so fresh named volumes inherit their owner.
RUN useradd --create-home --home-dir /home/ganctl --uid ${GANCTL_UID} --shell /usr/sbin/nologin ganctl \
    && mkdir -p /artifacts /data /home/ganctl/.keras /home/ganctl/.ganctl \
    && chown -R ganctl:ganctl /artifacts /data /home/ganctl

COPY . /src
# Install core deps only (no [cpu]/[gpu] extra), then prove the base image's TensorFlow still
# imports alongside ganctl.
RUN python3 -m pip install /src boto3 \
    && python3 -c "import tensorflow as tf, ganctl.jobs.archs; print('tensorflow', tf.__version__)" \
    && rm -rf /src

USER ganctl
WORKDIR /home/ganctl
ENTRYPOINT ["ganctl"]
CMD ["worker", "--gpus", "all"]
