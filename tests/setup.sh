#!/usr/bin/env bash
# What the tests need beyond the Python packages (make installs those): Chromium drives the
# browser tests; docker-compose validates the compose file (no engine); nginx checks
# deploy/nginx.conf with `nginx -t`; RabbitMQ is the broker of the amqp test (the tests start a
# node of their own, on free ports); Playwright's driver needs libatomic. As root with apt-get,
# install what is missing; otherwise say exactly what to install, and fail: no test is skipped
# for want of a program.
set -euo pipefail

chromium="${CHROMIUM:-/usr/bin/chromium}"
missing=()
[ -x "$chromium" ] || missing+=(chromium)
command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 \
  || missing+=(docker-compose)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v rabbitmq-server >/dev/null 2>&1 || [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] \
  || missing+=(rabbitmq-server)
# Playwright's own node binary needs libatomic, which a minimal Debian lacks. (grep reads all of
# ldconfig's output: with -q, pipefail would see ldconfig's SIGPIPE as a failure.)
ldconfig=$(command -v ldconfig || echo /sbin/ldconfig)
if [ -x "$ldconfig" ] && ! "$ldconfig" -p | grep 'libatomic\.so\.1' >/dev/null; then
  missing+=(libatomic1)
fi
[ "${#missing[@]}" -gt 0 ] || exit 0

# Debian 12 has the small nginx-light; Debian 13 has nginx alone.
nginx=nginx
if command -v apt-cache >/dev/null 2>&1 && apt-cache show nginx-light >/dev/null 2>&1; then
  nginx=nginx-light
fi
packages=("${missing[@]/#nginx/$nginx}")

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "The tests need: ${missing[*]}. Install them, then run make test again:" >&2
  if command -v apt-get >/dev/null 2>&1; then
    echo "  sudo apt-get install --no-install-recommends ${packages[*]}" >&2
    echo "  (make test run as root installs them itself)" >&2
  else
    echo "  macOS: brew install --cask chromium; brew install docker-compose nginx rabbitmq" >&2
    echo "  and set CHROMIUM to the Chromium binary when it is not /usr/bin/chromium" >&2
  fi
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if [ "$nginx" = nginx ] && apt-cache show nginx-light >/dev/null 2>&1; then
  packages=("${missing[@]/#nginx/nginx-light}")
fi
echo "installing for the tests: ${packages[*]}"
# Install services without starting them: the tests start what they need themselves.
created_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  created_policy=1
fi
trap '[ -z "$created_policy" ] || rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -qq --no-install-recommends "${packages[@]}"
