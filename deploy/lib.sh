#!/bin/sh
# What the cluster test (deploy/cluster/test.sh) and the fresh-machine test (deploy/fresh/test.sh)
# share: the tools they install, one run at a time per cache, a Docker engine (the one that
# answers, or one of their own that leaves the host's network rules alone), a minimal Debian base
# image made by debootstrap, the host pip's CA bundle and indexes for pip inside a build, and
# docker build with its output kept.
#   CACHE=...; . deploy/lib.sh; deploy_need docker.io debootstrap; deploy_begin NAME; ...
# The caller sets CACHE (its cache folder: the engine's images, the Debian tarballs, build logs).

MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

# apt-get install the packages among PACKAGE... whose program is missing (package docker.io
# gives dockerd; any other gives the program of its own name).
deploy_need() {
    missing=
    for package in "$@"; do
        program=$package
        [ "$package" != docker.io ] || program=dockerd
        command -v "$program" >/dev/null || missing="$missing $package"
    done
    [ -n "$missing" ] || return 0
    echo "apt-get install$missing"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null
}

# Take the cache's lock (runs sharing a cache would share the engine's image store), make RUN_DIR
# (/tmp/taskboard-NAME.*), and use the Docker engine that answers or start one; on exit, the
# container named in CONTAINER (if any) is removed, an engine of our own stopped, RUN_DIR removed.
deploy_begin() {
    mkdir -p "$CACHE"
    exec 9>"$CACHE/lock"
    flock 9
    RUN_DIR=$(mktemp -d "/tmp/taskboard-$1.XXXXXX")
    CONTAINER=
    trap deploy_end EXIT INT TERM
    if docker info >/dev/null 2>&1; then
        echo "engine: the one that answers (${DOCKER_HOST:-default socket})"
    else
        engine_start "$RUN_DIR"
    fi
}

deploy_end() {
    status=$?
    [ -z "${CONTAINER:-}" ] || docker rm -f "$CONTAINER" >/dev/null 2>&1 || true
    engine_stop
    rm -rf "$RUN_DIR"
    exit "$status"
}

# The CPU weight of the containers of an engine of our own, all together. The kernel shares the
# CPU between a control group and each process outside it as between peers: under Docker's
# default weight (1024, one process's) a container of twenty busy processes on a busy host got
# one process's share, and its web server took 25 to 37 s to start where it took 2 to 7 s on the
# host (a test waits 30 s). ENGINE_CPU_SHARES=16384 weighs the containers as sixteen processes.
ENGINE_CGROUP=taskboard-engines

engine_cgroup() {
    shares=${ENGINE_CPU_SHARES:-16384}
    if [ -d /sys/fs/cgroup/cpu ]; then
        mkdir -p "/sys/fs/cgroup/cpu/$ENGINE_CGROUP" 2>/dev/null &&
            echo "$shares" >"/sys/fs/cgroup/cpu/$ENGINE_CGROUP/cpu.shares" 2>/dev/null
    elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then
        # cgroup v2: cpu.weight 1 to 10000, 100 being one process's.
        weight=$((shares * 100 / 1024))
        [ "$weight" -le 10000 ] || weight=10000
        mkdir -p "/sys/fs/cgroup/$ENGINE_CGROUP" 2>/dev/null &&
            echo "$weight" >"/sys/fs/cgroup/$ENGINE_CGROUP/cpu.weight" 2>/dev/null
    else
        false
    fi || echo "engine: could not weigh its containers' CPU share; they may be slow on a busy host"
}

# Start a Docker engine of our own: its images in $CACHE/docker (so layers are built once), its
# socket, pid file and state under DIR; no iptables rules and no bridge (containers use the
# host's network); its containers in the control group of engine_cgroup. Exports DOCKER_HOST.
engine_start() {
    ENGINE_DIR=$1
    mkdir -p "$ENGINE_DIR/exec" "$CACHE/docker"
    engine_cgroup
    dockerd --iptables=false --ip6tables=false --bridge=none --cgroup-parent "/$ENGINE_CGROUP" \
        --data-root "$CACHE/docker" --exec-root "$ENGINE_DIR/exec" \
        -H "unix://$ENGINE_DIR/docker.sock" --pidfile "$ENGINE_DIR/docker.pid" \
        >"$ENGINE_DIR/dockerd.log" 2>&1 &
    ENGINE_PID=$!
    DOCKER_HOST="unix://$ENGINE_DIR/docker.sock"
    export DOCKER_HOST
    tries=0
    until docker info >/dev/null 2>&1; do
        tries=$((tries + 1))
        if [ "$tries" -gt 60 ] || ! kill -0 "$ENGINE_PID" 2>/dev/null; then
            echo "the Docker engine did not start; its log:" >&2
            tail -n 30 "$ENGINE_DIR/dockerd.log" >&2
            return 1
        fi
        sleep 0.5
    done
    echo "engine: own dockerd (pid $ENGINE_PID) on $DOCKER_HOST"
}

engine_stop() {
    [ -n "${ENGINE_PID:-}" ] || return 0
    kill -TERM "$ENGINE_PID" 2>/dev/null || true
    # dockerd stops its containerd and shims before it exits.
    tries=0
    while kill -0 "$ENGINE_PID" 2>/dev/null && [ "$tries" -lt 60 ]; do
        tries=$((tries + 1))
        sleep 0.5
    done
    if kill -0 "$ENGINE_PID" 2>/dev/null; then
        echo "dockerd did not stop within 30 s; killing it" >&2
        kill -KILL "$ENGINE_PID" 2>/dev/null || true
    fi
    wait "$ENGINE_PID" 2>/dev/null || true
    ENGINE_PID=
    # A network namespace mount a killed engine may leave under its exec root.
    awk -v dir="$ENGINE_DIR/" 'index($2, dir) == 1 { print $2 }' /proc/mounts | sort -r |
        while read -r mount; do umount "$mount" 2>/dev/null || umount -l "$mount"; done
}

# The image IMAGE: a minimal Debian DIST (bookworm, trixie) from its mirror, made by debootstrap
# once and kept as a tarball in $CACHE (about a minute the first time), then imported.
debian_base() {
    dist=$1
    image=$2
    docker image inspect "$image" >/dev/null 2>&1 && return 0
    tarball=$CACHE/$dist-minbase.tar
    if [ ! -f "$tarball" ]; then
        echo "debootstrap: a minimal Debian $dist (about a minute, once)"
        tree=$(mktemp -d "$CACHE/debootstrap.XXXXXX")
        debootstrap --variant=minbase "$dist" "$tree" "$MIRROR" >"$CACHE/debootstrap-$dist.log" 2>&1 \
            || { tail -n 20 "$CACHE/debootstrap-$dist.log" >&2; rm -rf "$tree"; return 1; }
        tar -C "$tree" -c . >"$tarball.part"
        mv "$tarball.part" "$tarball"
        rm -rf "$tree"
    fi
    docker import - "$image" <"$tarball" >/dev/null
}

# Print the first of the host pip's settings that is set: the variable, then `pip config`
# (PIP: the pip command to ask; python3's by default).
pip_setting() {
    eval "value=\${$1:-}"
    [ -n "$value" ] || value=$(${PIP:-python3 -m pip} config get "global.$2" 2>/dev/null || true)
    printf '%s' "$value"
}

# Give the build context DIR the host pip's CA bundle (ca.crt) and web indexes (pip.conf), for
# pip inside (a proxy's CA may sign the package index). With no CA bundle, the lines of
# DIR/Dockerfile that name it are dropped.
pip_context() {
    context=$1
    ca=$(pip_setting PIP_CERT cert)
    [ -n "$ca" ] || ca=$(python3 -c 'import ssl; print(ssl.get_default_verify_paths().cafile or "")')
    if [ -n "$ca" ] && [ -f "$ca" ]; then cp "$ca" "$context/ca.crt"; else : >"$context/ca.crt"; fi
    index=$(pip_setting PIP_INDEX_URL index-url)
    extra=$(pip_setting PIP_EXTRA_INDEX_URL extra-index-url)
    {
        echo "[global]"
        if [ -n "$index" ]; then echo "index-url = $index"; fi
        # Indexes on the host's own disk (file://) mean nothing inside.
        web=$(printf '%s\n' $extra | grep -E '^https?://' | tr '\n' ' ' || true)
        if [ -n "$web" ]; then echo "extra-index-url = $web"; fi
    } >"$context/pip.conf"
    if [ ! -s "$context/ca.crt" ]; then
        sed -i '/pip-ca.crt/d; /PIP_CERT/d' "$context/Dockerfile"
    fi
}

# docker build, its output kept in $CACHE/build-NAME.log and shown only when it fails.
docker_build() {
    log=$CACHE/build-$1.log
    shift
    docker build --network host "$@" >"$log" 2>&1 \
        || { tail -n 30 "$log" >&2; echo "docker build failed: $log" >&2; return 1; }
}
