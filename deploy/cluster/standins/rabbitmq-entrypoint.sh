#!/bin/sh
# The official image's user and password variables, written as rabbitmq.conf; and a node name
# on this container's hostname.
set -e
cat > /etc/rabbitmq/rabbitmq.conf <<CONF
default_user = ${RABBITMQ_DEFAULT_USER:-guest}
default_pass = ${RABBITMQ_DEFAULT_PASS:-guest}
loopback_users = none
listeners.tcp.default = 5672
CONF
chown -R rabbitmq:rabbitmq /var/lib/rabbitmq
export RABBITMQ_NODENAME="rabbit@$(hostname)"
if [ "$1" = "rabbitmq-server" ]; then
    exec su rabbitmq -s /bin/sh -c 'exec rabbitmq-server'
fi
exec "$@"
