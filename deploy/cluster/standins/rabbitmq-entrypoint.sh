#!/bin/sh
# The official image's user and password variables, written as rabbitmq.conf; Debian's
# rabbitmq-server wrapper then runs the broker as the rabbitmq user.
set -e
cat > /etc/rabbitmq/rabbitmq.conf <<CONF
default_user = ${RABBITMQ_DEFAULT_USER:-guest}
default_pass = ${RABBITMQ_DEFAULT_PASS:-guest}
loopback_users = none
listeners.tcp.default = 5672
log.console = true
CONF
chown -R rabbitmq:rabbitmq /var/lib/rabbitmq
exec "$@"
