#!/bin/sh
# Build the images the cluster test runs, with no image registry: a Debian base made by
# debootstrap (cached as a tarball in $CACHE), stand-ins for redis, nginx, rabbitmq and python
# on it, and Taskboard's own image on the python stand-in.
#   . deploy/cluster/images.sh; images_build ROOT
# Sets and exports REDIS_IMAGE, NGINX_IMAGE, RABBITMQ_IMAGE, TASKBOARD_IMAGE for compose.

STANDINS=taskboard-standin
BASE_IMAGE=$STANDINS/debian:bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

base_image() {
    docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 && return 0
    tarball=$CACHE/bookworm-minbase.tar
    if [ ! -f "$tarball" ]; then
        echo "debootstrap: a minimal Debian bookworm (about 35 s, once)"
        tree=$(mktemp -d "$CACHE/debootstrap.XXXXXX")
        debootstrap --variant=minbase bookworm "$tree" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
            || { tail -n 20 "$CACHE/debootstrap.log" >&2; rm -rf "$tree"; return 1; }
        tar -C "$tree" -c . >"$tarball.part"
        mv "$tarball.part" "$tarball"
        rm -rf "$tree"
    fi
    docker import - "$BASE_IMAGE" <"$tarball" >/dev/null
}

# Print the first of the host pip's settings that is set: the variable, then `pip config`.
pip_setting() {
    eval "value=\${$1:-}"
    [ -n "$value" ] || value=$($PIP config get "global.$2" 2>/dev/null || true)
    printf '%s' "$value"
}

# Fill a build context for the python stand-in with the host pip's CA bundle and index.
python_context() {
    context=$1
    cp "$HERE/standins/python.Dockerfile" "$context/Dockerfile"
    ca=$(pip_setting PIP_CERT cert)
    [ -n "$ca" ] || ca=$(python3 -c 'import ssl; print(ssl.get_default_verify_paths().cafile or "")')
    if [ -n "$ca" ] && [ -f "$ca" ]; then cp "$ca" "$context/ca.crt"; else : >"$context/ca.crt"; fi
    index=$(pip_setting PIP_INDEX_URL index-url)
    extra=$(pip_setting PIP_EXTRA_INDEX_URL extra-index-url)
    {
        echo "[global]"
        if [ -n "$index" ]; then echo "index-url = $index"; fi
        # Indexes on the host's own disk (file://) mean nothing inside the build.
        web=$(printf '%s\n' $extra | grep -E '^https?://' | tr '\n' ' ' || true)
        if [ -n "$web" ]; then echo "extra-index-url = $web"; fi
    } >"$context/pip.conf"
    if [ ! -s "$context/ca.crt" ]; then
        sed -i '/pip-ca.crt/d; /PIP_CERT/d' "$context/Dockerfile"
    fi
}

standin() {
    name=$1
    context=$(mktemp -d)
    cp "$HERE/standins/$name-entrypoint.sh" "$context/" 2>/dev/null || true
    if [ "$name" = python ]; then python_context "$context"; else
        cp "$HERE/standins/$name.Dockerfile" "$context/Dockerfile"
    fi
    build "$name" --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$STANDINS/$name:test" "$context" \
        || { rm -rf "$context"; return 1; }
    rm -rf "$context"
}

# docker build, its output kept in $CACHE/build-NAME.log and shown only when it fails.
build() {
    log=$CACHE/build-$1.log
    shift
    docker build --network host "$@" >"$log" 2>&1 \
        || { tail -n 30 "$log" >&2; echo "docker build failed: $log" >&2; return 1; }
}

images_build() {
    repo=$1
    base_image || return 1
    for name in redis nginx python rabbitmq; do
        standin "$name" || return 1
    done
    build taskboard --build-arg "PYTHON_IMAGE=$STANDINS/python:test" \
        -t taskboard:cluster-test "$repo" || return 1
    REDIS_IMAGE=$STANDINS/redis:test
    NGINX_IMAGE=$STANDINS/nginx:test
    RABBITMQ_IMAGE=$STANDINS/rabbitmq:test
    TASKBOARD_IMAGE=taskboard:cluster-test
    export REDIS_IMAGE NGINX_IMAGE RABBITMQ_IMAGE TASKBOARD_IMAGE
}
