#!/bin/sh
# The cluster test: docker-compose.yml up for real (nginx, two web processes, three workers,
# beat, Redis), checked from outside through nginx only (tests/cluster), then torn down.
#   make test-cluster            (as root: installs what it lacks with apt-get)
# Uses the Docker engine that answers, or starts one of its own and stops it at the end.
# The checks run twice: with Redis as the broker, then with the rabbitmq profile.
# Settings: TASKBOARD_CLUSTER_CACHE (default ~/.cache/taskboard-cluster), CLUSTER_BROKERS
# ("redis rabbitmq"; "redis" alone is quicker), PYTEST_ARGS.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${TASKBOARD_CLUSTER_CACHE:-$HOME/.cache/taskboard-cluster}
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
PIP="$PYTHON -m pip"
CLUSTER_BROKERS=${CLUSTER_BROKERS:-redis rabbitmq}
# The stack's logs of the last run, one file per broker.
CLUSTER_LOGS=$CACHE/logs
export CACHE CLUSTER_BROKERS CLUSTER_LOGS
. "$ROOT/deploy/lib.sh"
. "$HERE/images.sh"

started=$(date +%s)
deploy_need docker.io docker-compose debootstrap
deploy_begin cluster

echo "images: building stand-ins and taskboard"
images_build "$ROOT"
echo "images ready after $(($(date +%s) - started)) s"

# The compose project is brought up and torn down by the tests' fixture.
status=0
"$PYTHON" -m pytest "$ROOT/tests/cluster" -p no:cacheprovider -s ${PYTEST_ARGS:-} || status=$?
echo "cluster test: $(($(date +%s) - started)) s in all"
exit "$status"
