#!/bin/sh
# Build PETRA's container image from deploy/Dockerfile without a container engine, and smoke-run it:
# buildah with chroot isolation (no daemon, no user namespaces needed) on a Debian bookworm base made by
# mmdebstrap, since these machines reach Debian's archive and PyPI but no image registry.
#
#   tools/build-image.sh [EXTRAS]          EXTRAS: pyproject extras for the image (default: all)
#
# Environment: PETRA_SMOKE_ONLY=1 (only the smoke run of an image built before), PETRA_IMAGE (default localhost/petra:0.1.0), BUILDAH_ROOT (image storage, default
# /var/tmp/petra-buildah), PETRA_BASE_IMAGE (default: localhost/petra-base:bookworm, made when missing).
# The image is in Docker's format (OCI has no HEALTHCHECK). Needs root and `apt-get install buildah mmdebstrap` (Debian 12). Where docker.io is reachable, the
# Dockerfile's own base (python:3.11-slim-bookworm) is the one to use: `docker build -f deploy/Dockerfile .`
#
# The base differs from python:3.11-slim in where Python comes from (Debian's python3.11 instead of
# python.org's build under /usr/local); the Dockerfile's steps, user, paths and health check are the same.
# The host's CA bundle and a pip.conf naming it are mounted for the RUN steps only (some networks
# intercept TLS), so nothing of the host ends up in the image.
set -eu

EXTRAS=${1:-all}
IMAGE=${PETRA_IMAGE:-localhost/petra:0.1.0}
ROOT=${BUILDAH_ROOT:-/var/tmp/petra-buildah}
BASE=${PETRA_BASE_IMAGE:-localhost/petra-base:bookworm}
HERE=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
B="buildah --root $ROOT --runroot $WORK/run --storage-driver vfs"

for tool in buildah mmdebstrap; do
    command -v "$tool" >/dev/null || { echo "build-image: $tool is missing: apt-get install -y buildah mmdebstrap" >&2; exit 2; }
done

t0=$(date +%s)
if ! $B inspect --type image "$BASE" >/dev/null 2>&1; then
    echo "build-image: making $BASE with mmdebstrap (Debian bookworm, python3.11, venv, pip)"
    mmdebstrap --quiet --variant=minbase \
        --include=python3,python3-venv,python3-pip,python-is-python3,ca-certificates,passwd \
        bookworm "$WORK/rootfs.tar"
    ctr=$($B from scratch)
    mnt=$($B mount "$ctr")
    tar -C "$mnt" -xf "$WORK/rootfs.tar"
    $B umount "$ctr"
    $B config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd /bin/sh "$ctr"
    $B commit --quiet "$ctr" "$BASE" >/dev/null
    $B rm "$ctr" >/dev/null
fi
t1=$(date +%s)

printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$WORK/pip.conf"
[ -n "${PETRA_SMOKE_ONLY:-}" ] || $B bud --quiet --format docker --isolation chroot --ignorefile "$HERE/deploy/Dockerfile.dockerignore" \
    -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
    -v "$WORK/pip.conf:/etc/pip.conf:ro" \
    --build-arg PYTHON_IMAGE="$BASE" --build-arg EXTRAS="$EXTRAS" \
    -f "$HERE/deploy/Dockerfile" -t "$IMAGE" "$HERE" >/dev/null
t2=$(date +%s)

# Smoke run in a container of the image: as its user, the shipped plant checks, PETRA starts, the health
# check (the image's HEALTHCHECK command) reports ok, SIGTERM stops it cleanly.
ctr=$($B from --quiet "$IMAGE")
trap '$B rm "$ctr" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
$B run --isolation chroot --env CLICKHOUSE_PASSWORD=x --env MQTT_PASSWORD=y --env CLICKHOUSE_HOST=127.0.0.1 \
    --env MQTT_HOST=127.0.0.1 "$ctr" -- sh -c '
    set -e
    echo "user: $(id -u):$(id -g)"; test "$(id -u)" = 10001
    petra check /etc/petra/plant.yaml
    cd /var/lib/petra
    /bin/sh -c "umask 0027 && exec petra run \"\$@\"" petra /etc/petra/plant.yaml --web-port 0 --metrics-port 0 \
        > /tmp/petra.log 2>&1 &   # the image ENTRYPOINT and CMD (checked below), ports off
    pid=$!
    i=0
    until python /opt/petra/healthcheck.py --ready; do
        i=$((i + 1)); if [ $i -gt 60 ]; then cat /tmp/petra.log; exit 1; fi; sleep 1
    done
    petra-ctl status | head -5
    kill -TERM $pid; wait $pid; echo "petra run exited $?"
    ls -l /var/lib/petra/data/wal
'
# With the Debian Mosquitto and ClickHouse on this machine (tools/install-test-services.sh), run the shipped
# plant from the image against them, as compose does: samples reach ClickHouse, changes reach the broker.
# (chroot isolation shares the host's network, so the peers listen on loopback on free ports.)
if command -v mosquitto >/dev/null && command -v clickhouse-server >/dev/null; then
    free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
    MQ=$(free_port); CH=$(free_port); CHH=$(free_port)
    mkdir -p "$WORK/mq" "$WORK/ch"
    mosquitto_passwd -c -b "$WORK/mq/passwd" petra smoke-pass
    printf 'listener %s 127.0.0.1\nallow_anonymous false\npassword_file %s\npersistence false\nuser root\n' \
        "$MQ" "$WORK/mq/passwd" > "$WORK/mq/mosquitto.conf"
    mosquitto -c "$WORK/mq/mosquitto.conf" > "$WORK/mq/log" 2>&1 &
    mq_pid=$!
    cp /etc/clickhouse-server/users.xml "$WORK/ch/users.xml"
    cat > "$WORK/ch/config.xml" <<XML
<yandex>
  <logger><level>warning</level><log>$WORK/ch/server.log</log><errorlog>$WORK/ch/error.log</errorlog></logger>
  <tcp_port>$CH</tcp_port><http_port>$CHH</http_port><listen_host>127.0.0.1</listen_host>
  <path>$WORK/ch/data/</path><tmp_path>$WORK/ch/tmp/</tmp_path><user_files_path>$WORK/ch/files/</user_files_path>
  <format_schema_path>$WORK/ch/schemas/</format_schema_path><users_config>$WORK/ch/users.xml</users_config>
  <default_profile>default</default_profile><default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size><uncompressed_cache_size>67108864</uncompressed_cache_size>
</yandex>
XML
    clickhouse-server --config-file="$WORK/ch/config.xml" > "$WORK/ch/stdout" 2>&1 &
    ch_pid=$!
    trap 'kill $mq_pid $ch_pid 2>/dev/null || true; $B rm "$ctr" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
    mosquitto_sub -p "$MQ" -u petra -P smoke-pass -t 'petra/smoke/#' -C 5 -W 90 -v > "$WORK/mq/got" 2>&1 &
    sub_pid=$!
    $B run --isolation chroot --env CLICKHOUSE_PASSWORD= --env CLICKHOUSE_USER=default --env MQTT_PASSWORD=smoke-pass \
        --env CLICKHOUSE_HOST=127.0.0.1 --env CLICKHOUSE_PORT="$CH" --env MQTT_HOST=127.0.0.1 --env MQTT_PORT="$MQ" \
        --env PETRA_NODE_ID=smoke --env CH_HTTP="$CHH" "$ctr" -- sh -c '
        cd /var/lib/petra
        /bin/sh -c "umask 0027 && exec petra run \"\$@\"" petra /etc/petra/plant.yaml --web-port 0 --metrics-port 0 \
            > /tmp/petra-peers.log 2>&1 &
        pid=$!
        i=0
        until [ "$(python -c "import urllib.request; print(urllib.request.urlopen(\"http://127.0.0.1:$CH_HTTP/?query=SELECT+count()+FROM+petra.samples+WHERE+node_id=%27smoke%27\").read().decode().strip())" 2>/dev/null || echo 0)" -gt 0 ]; do
            i=$((i + 1)); if [ $i -gt 120 ]; then tail -20 /tmp/petra-peers.log; kill $pid; exit 1; fi; sleep 1
        done
        echo "clickhouse: samples of node smoke in petra.samples after ${i} s"
        kill -TERM $pid; wait $pid; echo "petra run exited $?"
    '
    wait $sub_pid || { echo "build-image: no MQTT messages from PETRA" >&2; cat "$WORK/mq/got" >&2; exit 1; }
    echo "mosquitto: $(wc -l < "$WORK/mq/got") messages on petra/smoke/#, e.g. $(head -1 "$WORK/mq/got")"
    kill $mq_pid $ch_pid 2>/dev/null || true
fi

entry=$($B inspect --type image --format '{{.Docker.Config.Entrypoint}} {{.Docker.Config.Cmd}}' "$IMAGE")
test "$entry" = '[/bin/sh -c umask 0027 && exec petra run "$@" petra] [/etc/petra/plant.yaml]' || {
    echo "build-image: the image's ENTRYPOINT/CMD changed ($entry): update the smoke run" >&2; exit 1; }
echo "health check: $($B inspect --type image --format '{{.Docker.Config.Healthcheck.Test}}' "$IMAGE")"
t3=$(date +%s)
echo "build-image: $IMAGE ($($B images --format '{{.Size}}' "$IMAGE" 2>/dev/null || echo '?')):" \
     "base $((t1 - t0)) s, build $((t2 - t1)) s, smoke run $((t3 - t2)) s"
