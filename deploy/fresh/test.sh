#!/bin/sh
# The fresh-machine test: in bare Debian 12 (bookworm, Python 3.11) and Debian 13 (trixie,
# Python 3.13) containers with only python3, python3-venv, make, git and ca-certificates, a clone
# of this checkout's HEAD runs `make run` until its ready line, one checksum job through the API,
# a SIGTERM that must leave no process, then `make test` as root (which installs Chromium,
# nginx, RabbitMQ, docker-compose itself). Fails when any step fails, or a test fails or skips.
#   make test-fresh                  (as root: installs docker.io and debootstrap if missing)
# Settings: FRESH_DISTS ("bookworm trixie"), TASKBOARD_FRESH_CACHE (~/.cache/taskboard-fresh:
# the engine's images, the debootstrap tarballs, apt and pip caches per distribution, the logs
# of the last run), FRESH_TIMEOUT_S (3600 per distribution), PYTEST_ARGS (for make test inside).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${TASKBOARD_FRESH_CACHE:-$HOME/.cache/taskboard-fresh}
FRESH_DISTS=${FRESH_DISTS:-bookworm trixie}
FRESH_TIMEOUT_S=${FRESH_TIMEOUT_S:-3600}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
export CACHE
mkdir -p "$CACHE"
. "$ROOT/deploy/cluster/engine.sh"

for dist in $FRESH_DISTS; do
    case "$dist" in
    bookworm | trixie) ;;
    *) echo "FRESH_DISTS: '$dist' is not one of bookworm, trixie" >&2 && exit 2 ;;
    esac
done

missing=
command -v dockerd >/dev/null || missing="$missing docker.io"
command -v debootstrap >/dev/null || missing="$missing debootstrap"
if [ -n "$missing" ]; then
    echo "apt-get install$missing"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null
fi

# One fresh-machine test at a time on a machine: they would share the engine's cache.
exec 9>"$CACHE/lock"
flock 9

RUN_DIR=$(mktemp -d /tmp/taskboard-fresh.XXXXXX)
CONTAINER=
cleanup() {
    status=$?
    [ -z "$CONTAINER" ] || docker rm -f "$CONTAINER" >/dev/null 2>&1 || true
    engine_stop
    rm -rf "$RUN_DIR"
    exit "$status"
}
trap cleanup EXIT INT TERM
if docker info >/dev/null 2>&1; then
    echo "engine: the one that answers (${DOCKER_HOST:-default socket})"
else
    engine_start "$RUN_DIR"
fi

# A fresh clone of HEAD: what is committed, never the working tree (its .venv, data/, edits).
commit=$(git -C "$ROOT" rev-parse HEAD)
git clone -q --no-checkout "$ROOT" "$RUN_DIR/src"
git -C "$RUN_DIR/src" checkout -q "$commit"
git -C "$ROOT" diff --quiet HEAD || echo "note: uncommitted changes are not tested"
echo "source: a clone of $(git -C "$ROOT" log -1 --format='%h %s' | cut -c 1-80)"
cp "$HERE/inside.sh" "$HERE/job.py" "$RUN_DIR/"

# The host pip's CA bundle and web indexes, for pip inside (a proxy's CA may sign the index).
setting() {
    eval "value=\${$1:-}"
    [ -n "$value" ] || value=$(python3 -m pip config get "global.$2" 2>/dev/null || true)
    printf '%s' "$value"
}
context=$RUN_DIR/context
mkdir -p "$context"
cp "$HERE/Dockerfile" "$context/"
ca=$(setting PIP_CERT cert)
[ -n "$ca" ] || ca=$(python3 -c 'import ssl; print(ssl.get_default_verify_paths().cafile or "")')
if [ -n "$ca" ] && [ -f "$ca" ]; then cp "$ca" "$context/ca.crt"; else : >"$context/ca.crt"; fi
[ -s "$context/ca.crt" ] || sed -i '/pip-ca.crt/d; /PIP_CERT/d' "$context/Dockerfile"
{
    echo "[global]"
    index=$(setting PIP_INDEX_URL index-url)
    [ -z "$index" ] || echo "index-url = $index"
    # Indexes on the host's own disk (file://) mean nothing inside.
    web=$(printf '%s\n' $(setting PIP_EXTRA_INDEX_URL extra-index-url) | grep -E '^https?://' | tr '\n' ' ' || true)
    [ -z "$web" ] || echo "extra-index-url = $web"
} >"$context/pip.conf"

# A minimal Debian from its mirror, made once per distribution and kept as a tarball.
base_image() {
    image=taskboard-fresh/debian:$1
    docker image inspect "$image" >/dev/null 2>&1 && return 0
    tarball=$CACHE/$1-minbase.tar
    if [ ! -f "$tarball" ]; then
        echo "$1: debootstrap, a minimal Debian (about a minute, once)"
        tree=$(mktemp -d "$CACHE/debootstrap.XXXXXX")
        debootstrap --variant=minbase "$1" "$tree" "$MIRROR" >"$CACHE/debootstrap-$1.log" 2>&1 \
            || { tail -n 20 "$CACHE/debootstrap-$1.log" >&2; rm -rf "$tree"; return 1; }
        tar -C "$tree" -c . >"$tarball.part"
        mv "$tarball.part" "$tarball"
        rm -rf "$tree"
    fi
    docker import - "$image" <"$tarball" >/dev/null
}

# Port 5000 is make run's default; the containers share the host's network (for apt and pip),
# so when something here holds it, make run is given a free one.
port() {
    python3 - <<'PY'
import socket
with socket.socket() as s:
    try:
        s.bind(("127.0.0.1", 5000))
        print(5000)
    except OSError:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])
PY
}

# Count a JUnit report: "tests failed errors skipped".
counts() {
    python3 - "$1" <<'PY'
import sys
import xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print("0 0 0 0")
    raise SystemExit
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
total = [sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")]
print(*total)
PY
}

failed=0
summary=
for dist in $FRESH_DISTS; do
    started=$(date +%s)
    base_image "$dist"
    log=$CACHE/build-$dist.log
    docker build --network host --build-arg "BASE_IMAGE=taskboard-fresh/debian:$dist" \
        -t "taskboard-fresh/$dist" "$context" >"$log" 2>&1 \
        || { tail -n 30 "$log" >&2; echo "docker build failed: $log" >&2; exit 1; }
    out=$RUN_DIR/out-$dist
    mkdir -p "$out" "$CACHE/$dist/pip" "$CACHE/$dist/apt/partial"
    run_port=$(port)
    echo "$dist: image ready after $(($(date +%s) - started)) s; make run on port $run_port"
    CONTAINER=taskboard-fresh-$dist-$$
    # --init reaps what the tests orphan; /dev/shm of 1 GiB for Chromium.
    timeout "$FRESH_TIMEOUT_S" docker run --rm --name "$CONTAINER" --init --network host \
        --shm-size 1g -e "RUN_PORT=$run_port" -e "PYTEST_ARGS=${PYTEST_ARGS:-}" \
        -v "$RUN_DIR/src:/fresh/src:ro" -v "$RUN_DIR/inside.sh:/fresh/inside.sh:ro" \
        -v "$RUN_DIR/job.py:/fresh/job.py:ro" -v "$out:/out" \
        -v "$CACHE/$dist/pip:/root/.cache/pip" -v "$CACHE/$dist/apt:/var/cache/apt/archives" \
        "taskboard-fresh/$dist" sh /fresh/inside.sh 2>&1 | tee "$out/console.log" \
        | sed -u "s/^fresh:/$dist:/" || true
    docker rm -f "$CONTAINER" >/dev/null 2>&1 || true
    CONTAINER=
    # The logs of the last run stay in the cache.
    rm -rf "$CACHE/logs/$dist"
    mkdir -p "$CACHE/logs"
    cp -r "$out" "$CACHE/logs/$dist"
    set -- $(counts "$out/junit.xml")
    tests=$1 failures=$2 errors=$3 skipped=$4
    rc=$(cat "$out/test.rc" 2>/dev/null || echo "not run")
    run_rc=$(cat "$out/run.rc" 2>/dev/null || echo "not run")
    line="$dist: $((tests - failures - errors - skipped)) passed, $failures failed, $errors errors, $skipped skipped (make test exit $rc) in $(($(date +%s) - started)) s"
    [ "$run_rc" = 0 ] || line="$line; make run, its job or its stop went wrong"
    if [ "$run_rc" != 0 ] || [ "$rc" != 0 ] || [ "$failures" != 0 ] || [ "$errors" != 0 ] || [ "$skipped" != 0 ] || [ "$tests" = 0 ]; then
        failed=1
        line="$line: FAILED (logs: $CACHE/logs/$dist)"
    fi
    summary="$summary$line
"
done
printf '%s' "$summary"
exit "$failed"
