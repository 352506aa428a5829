#!/bin/sh
# As the official image does: without a config file Debian's redis-server keeps protected mode on
# and refuses the other containers.
set -e
if [ "$1" = "redis-server" ]; then
    shift
    exec redis-server --protected-mode no "$@"
fi
exec "$@"
