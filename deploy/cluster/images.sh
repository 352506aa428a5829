#!/bin/sh
# Build the images the cluster test runs, with no image registry: a Debian base made by
# debootstrap (cached as a tarball in $CACHE), stand-ins for redis, nginx, rabbitmq and python
# on it, and Taskboard's own image on the python stand-in (debootstrap, pip's settings and docker
# build are deploy/lib.sh's).
#   . deploy/lib.sh; . deploy/cluster/images.sh; images_build ROOT
# Sets and exports REDIS_IMAGE, NGINX_IMAGE, RABBITMQ_IMAGE, TASKBOARD_IMAGE for compose.

STANDINS=taskboard-standin
BASE_IMAGE=$STANDINS/debian:bookworm

# Fill a build context for the python stand-in: its Dockerfile, the host pip's CA bundle and index.
python_context() {
    cp "$HERE/standins/python.Dockerfile" "$1/Dockerfile"
    pip_context "$1"
}

standin() {
    name=$1
    context=$(mktemp -d)
    cp "$HERE/standins/$name-entrypoint.sh" "$context/" 2>/dev/null || true
    if [ "$name" = python ]; then python_context "$context"; else
        cp "$HERE/standins/$name.Dockerfile" "$context/Dockerfile"
    fi
    docker_build "$name" --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$STANDINS/$name:test" "$context" \
        || { rm -rf "$context"; return 1; }
    rm -rf "$context"
}

images_build() {
    repo=$1
    debian_base bookworm "$BASE_IMAGE" || return 1
    for name in redis nginx python rabbitmq; do
        standin "$name" || return 1
    done
    docker_build taskboard --build-arg "PYTHON_IMAGE=$STANDINS/python:test" \
        -t taskboard:cluster-test "$repo" || return 1
    REDIS_IMAGE=$STANDINS/redis:test
    NGINX_IMAGE=$STANDINS/nginx:test
    RABBITMQ_IMAGE=$STANDINS/rabbitmq:test
    TASKBOARD_IMAGE=taskboard:cluster-test
    export REDIS_IMAGE NGINX_IMAGE RABBITMQ_IMAGE TASKBOARD_IMAGE
}
