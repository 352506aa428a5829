#!/bin/sh
# The fresh-machine test: in bare Debian 12 (bookworm, Python 3.11) and Debian 13 (trixie,
# Python 3.13) containers with only python3, python3-venv, make, git and ca-certificates, a clone
# of this checkout's HEAD runs `make run` until its ready line, one checksum job through the API,
# a SIGTERM that must leave no process, then `make test` as root (which installs Chromium,
# nginx, RabbitMQ, docker-compose itself). Fails when any step fails, or a test fails or skips.
#   make test-fresh                  (as root: installs docker.io and debootstrap if missing)
# Settings: FRESH_DISTS ("bookworm trixie"), TASKBOARD_FRESH_CACHE (~/.cache/taskboard-fresh:
# the engine's images, the debootstrap tarballs, apt and pip caches per distribution, the logs
# of the last run), FRESH_TIMEOUT_S (3600 per distribution), PYTEST_ARGS (for make test inside),
# FRESH_TEST_PACKAGES ("image": the Debian packages the tests need are installed by the commit's
# own tests/setup.sh into a cached layer of the image, rebuilt when that script changes; "run":
# make test installs them in every run, as on a newcomer's machine).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${TASKBOARD_FRESH_CACHE:-$HOME/.cache/taskboard-fresh}
FRESH_DISTS=${FRESH_DISTS:-bookworm trixie}
FRESH_TIMEOUT_S=${FRESH_TIMEOUT_S:-3600}
FRESH_TEST_PACKAGES=${FRESH_TEST_PACKAGES:-image}
export CACHE
. "$ROOT/deploy/lib.sh"

for dist in $FRESH_DISTS; do
    case "$dist" in
    bookworm | trixie) ;;
    *) echo "FRESH_DISTS: '$dist' is not one of bookworm, trixie" >&2 && exit 2 ;;
    esac
done
case "$FRESH_TEST_PACKAGES" in
image | run) ;;
*) echo "FRESH_TEST_PACKAGES: '$FRESH_TEST_PACKAGES' is not one of image, run" >&2 && exit 2 ;;
esac

deploy_need docker.io debootstrap
deploy_begin fresh

# A fresh clone of HEAD: what is committed, never the working tree (its .venv, data/, edits).
commit=$(git -C "$ROOT" rev-parse HEAD)
git clone -q --no-checkout "$ROOT" "$RUN_DIR/src"
git -C "$RUN_DIR/src" checkout -q "$commit"
git -C "$ROOT" diff --quiet HEAD || echo "note: uncommitted changes are not tested"
echo "source: a clone of $(git -C "$ROOT" log -1 --format='%h %s' | cut -c 1-80)"
cp "$HERE/inside.sh" "$HERE/job.py" "$RUN_DIR/"

# The image's build context: its Dockerfile, the host pip's CA bundle and web indexes, and the
# clone's tests/setup.sh (or, with FRESH_TEST_PACKAGES=run, no packages for the tests).
context=$RUN_DIR/context
mkdir -p "$context"
cp "$HERE/Dockerfile" "$context/"
cp "$RUN_DIR/src/tests/setup.sh" "$context/"
[ "$FRESH_TEST_PACKAGES" = image ] || sed -i '/taskboard-fresh\/setup\.sh/d' "$context/Dockerfile"
pip_context "$context"

# The shared corpus of real files lives beside the project, never in it; the corpus tests read
# it there, so the container gets it beside its clone.
corpus=
if [ -d "$ROOT/../shared/corpus" ]; then
    corpus=$(cd "$ROOT/../shared/corpus" && pwd)
else
    echo "note: no shared corpus beside this checkout: the corpus tests will skip, and fail the run"
fi

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
    debian_base "$dist" "taskboard-fresh/debian:$dist"
    docker_build "$dist" --build-arg "BASE_IMAGE=taskboard-fresh/debian:$dist" \
        -t "taskboard-fresh/$dist" "$context"
    out=$RUN_DIR/out-$dist
    mkdir -p "$out" "$CACHE/$dist/pip" "$CACHE/$dist/apt/partial"
    run_port=$(port)
    echo "$dist: image ready after $(($(date +%s) - started)) s; make run on port $run_port"
    CONTAINER=taskboard-fresh-$dist-$$
    # --init reaps what the tests orphan; /dev/shm of 1 GiB for Chromium; NET_ADMIN, which
    # root has on a machine of its own, for the test that adds a public address to loopback.
    timeout "$FRESH_TIMEOUT_S" docker run --rm --name "$CONTAINER" --init --network host \
        --cap-add NET_ADMIN --shm-size 1g -e "RUN_PORT=$run_port" -e "PYTEST_ARGS=${PYTEST_ARGS:-}" \
        -v "$RUN_DIR/src:/fresh/src:ro" -v "$RUN_DIR/inside.sh:/fresh/inside.sh:ro" \
        -v "$RUN_DIR/job.py:/fresh/job.py:ro" -v "$out:/out" \
        -v "$CACHE/$dist/pip:/root/.cache/pip" -v "$CACHE/$dist/apt:/var/cache/apt/archives" \
        ${corpus:+-v "$corpus:/root/shared/corpus:ro"} \
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
