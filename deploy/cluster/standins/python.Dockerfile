# Stand-in for python:3.11-slim-bookworm, from Debian's python3 (3.11). pip reaches the package
# index as the host's pip does: its CA bundle and index settings come in through the build
# context (ca.crt, pip.conf), written by deploy/cluster/images.sh.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       python3 python3-venv python3-pip python-is-python3 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY ca.crt /etc/ssl/certs/pip-ca.crt
COPY pip.conf /etc/pip.conf
ENV PIP_CERT=/etc/ssl/certs/pip-ca.crt
