#!/bin/sh
# Runs inside a fresh-machine container (deploy/fresh/test.sh), as root: copy the clone in, then
# `make run` until its ready line, one checksum job through the API, a second make run told that
# the port is taken, SIGTERM with no process left, then `make test`. Prints one `fresh:` line per
# step; make test's output goes to /out/test.log, its JUnit report to /out/junit.xml and its exit
# status to /out/test.rc; /out/run.rc is 0 when every step of make run went right.
set -eu
cp -a /fresh/src /root/taskboard
cd /root/taskboard
echo "fresh: $(. /etc/os-release && echo "$PRETTY_NAME"), $(python3 --version), $(uname -m)"

now() { date +%s; }

# Processes of the stack still alive (read from /proc: a bare machine has no ps).
leftover() {
    for dir in /proc/[0-9]*; do
        cmd=$(tr '\0' ' ' 2>/dev/null <"$dir/cmdline") || continue
        case "$cmd" in
        *webapp* | *celery* | *valkey-server* | *redis-server*) echo "  ${dir#/proc/} $cmd" ;;
        esac
    done
}

# make run in a session of its own, as a terminal would run it; stopped with SIGTERM to the
# session's process group, as a closing terminal or a process manager does.
started=$(now)
PORT=$RUN_PORT setsid make run >/out/run.log 2>&1 &
make_pid=$!
url=
until [ -n "$url" ]; do
    if ! kill -0 "$make_pid" 2>/dev/null; then
        echo "fresh: make run exited before its ready line; its output:"
        tail -n 40 /out/run.log
        exit 1
    fi
    if [ $(($(now) - started)) -gt "${RUN_READY_S:-900}" ]; then
        echo "fresh: make run not ready after ${RUN_READY_S:-900} s; its output:"
        tail -n 40 /out/run.log
        kill -TERM "-$make_pid" 2>/dev/null || true
        exit 1
    fi
    sleep 1
    url=$(sed -n 's/.*Taskboard ready at \(http[^ ]*\).*/\1/p' /out/run.log | head -n 1)
done
echo "fresh: make run ready at $url after $(($(now) - started)) s (venv and requirements included)"
ready_lines=$(grep -c 'ready at' /out/run.log)
[ "$ready_lines" = 1 ] || echo "fresh: make run printed $ready_lines ready lines"

job=0
.venv/bin/python /fresh/job.py "$url" >/out/job.log 2>&1 || job=1
sed 's/^/fresh: /' /out/job.log

# A second make run on the same port: one line says so and how to pick another, no traceback.
taken=0
PORT=$RUN_PORT timeout 120 make run >/out/taken.log 2>&1 && taken=1
if [ "$taken" = 0 ] && grep -q "is taken.*PORT=" /out/taken.log && ! grep -q Traceback /out/taken.log; then
    echo "fresh: a second make run on the taken port: $(grep 'is taken' /out/taken.log)"
else
    echo "fresh: a second make run on the taken port did not say so in one line:"
    cat /out/taken.log
    taken=1
fi

stopped=$(now)
kill -TERM "-$make_pid"
while [ -n "$(leftover)" ] && [ $(($(now) - stopped)) -lt 30 ]; do sleep 0.5; done
left=$(leftover)
if [ -n "$left" ]; then
    echo "fresh: make run left processes 30 s after SIGTERM:"
    echo "$left"
    stop=1
else
    echo "fresh: make run stopped on SIGTERM in $(($(now) - stopped)) s, no process left"
    stop=0
fi

echo $((job + taken + stop)) >/out/run.rc

started=$(now)
status=0
make test PYTEST_ARGS="--junitxml=/out/junit.xml ${PYTEST_ARGS:-}" >/out/test.log 2>&1 || status=$?
echo "$status" >/out/test.rc
echo "fresh: make test exited $status after $(($(now) - started)) s"
tail -n 1 /out/test.log | sed 's/^/fresh: /'
[ "$job" = 0 ] && [ "$stop" = 0 ] && [ "$status" = 0 ]
