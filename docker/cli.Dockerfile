# syntax=docker/dockerfile:1
# ganctl CLI and migrations: core deps only. TensorFlow is in the cpu/gpu extras, which this
# image never installs, so it stays small (the CLI never imports TensorFlow).
#
#   docker build -f docker/cli.Dockerfile -t ganctl/cli .     (from the repository root)
FROM python:3.11-slim

ARG GANCTL_UID=10001
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/home/ganctl \
    GANCTL_HOME=/home/ganctl/.ganctl \
    GANCTL_ARTIFACTS_DIR=/artifacts

RUN useradd --create-home --home-dir /home/ganctl --uid ${GANCTL_UID} --shell /usr/sbin/nologin ganctl \
    && mkdir -p /artifacts /home/ganctl/.ganctl \
    && chown -R ganctl:ganctl /artifacts /home/ganctl

COPY . /src
RUN pip install /src boto3 \
    && ! python -c "import tensorflow" 2>/dev/null \
    && ganctl --help > /dev/null \
    && rm -rf /src

USER ganctl
WORKDIR /home/ganctl
ENTRYPOINT ["ganctl"]
CMD ["--help"]
