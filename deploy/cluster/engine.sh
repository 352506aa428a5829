#!/bin/sh
# Start a Docker engine of the cluster test's own, or stop it.
#   . deploy/cluster/engine.sh; engine_start DIR; ...; engine_stop
# The engine keeps its images in $CACHE/docker (so stand-ins and layers are built once) and its
# socket, pid file and state under DIR. It leaves the host's network rules alone.

engine_start() {
    ENGINE_DIR=$1
    mkdir -p "$ENGINE_DIR/exec" "$CACHE/docker"
    dockerd --iptables=false --ip6tables=false --bridge=none \
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
