#!/usr/bin/env bash
# Builds the proxy image (Containerfile) from a static musl `cors` and runs it: the health check
# passes, a request reaches a loopback upstream, `podman stop` returns within 2 s with exit 0, and
# the image says where it listens and as whom. Installs podman, buildah, runc and musl-tools from
# apt when missing; exits 0 with a message (skipped) when the musl target or podman cannot work
# here. Images and containers live in a scratch storage root, removed at the end.
#
#   bash .ci/container-smoke.sh [MUSL_BINARY]    # builds the binary when not given
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "container smoke: $*"; }
fail() { echo "container smoke: FAIL: $*" >&2; exit 1; }
skip() { say "SKIPPED: $*"; exit 0; }

SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo)
missing=()
for tool in podman:podman buildah:buildah runc:runc musl-gcc:musl-tools; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} from apt"
    export DEBIAN_FRONTEND=noninteractive
    { "${SUDO[@]}" apt-get update -q && "${SUDO[@]}" apt-get install -y -q "${missing[@]}"; } >/dev/null ||
        skip "cannot install ${missing[*]}"
fi

work=$(mktemp -d)
export CONTAINERS_CONF="$work/containers.conf"
# No ulimit defaults: raising RLIMIT_NOFILE is refused inside some sandboxes (this CI's included).
printf '[containers]\ndefault_ulimits = []\n' >"$CONTAINERS_CONF"
store=(--storage-driver vfs --root "$work/storage" --runroot "$work/run")
podman=(podman "${store[@]}" --runtime runc --cgroup-manager cgroupfs)
buildah=(buildah "${store[@]}")
upstream_pid=
cleanup() {
    [ -z "$upstream_pid" ] || kill "$upstream_pid" 2>/dev/null || true
    "${podman[@]}" rm -f -t 0 cors-smoke >/dev/null 2>&1 || true
    "${podman[@]}" system reset -f >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

"${podman[@]}" info >/dev/null 2>&1 || skip "\`podman info\` fails here: $("${podman[@]}" info 2>&1 | tail -1)"

binary=${1:-}
if [ -z "$binary" ]; then
    rustup target add x86_64-unknown-linux-musl >/dev/null 2>&1 ||
        skip "rustup cannot add the x86_64-unknown-linux-musl target"
    say "building the static musl binary (release, mimalloc)"
    cargo build --quiet --release --locked --target x86_64-unknown-linux-musl -p tower-cors-cli \
        --features mimalloc
    target_dir=$(cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
    binary="$target_dir/x86_64-unknown-linux-musl/release/cors"
fi
# (Outputs are captured before grep -q: an early exit would fail the pipe under pipefail.)
headers=$(readelf -l "$binary")
! grep -q 'Requesting program interpreter' <<<"$headers" || fail "$binary is not static"

# A build context with only what the image takes.
mkdir "$work/context"
cp Containerfile LICENSE-MIT LICENSE-APACHE "$work/context/"
cp "$binary" "$work/context/cors"
strip "$work/context/cors" 2>/dev/null || true
image=localhost/tower-cors/cors:smoke
"${buildah[@]}" bud --quiet --format docker --isolation chroot --build-arg BINARY=cors \
    -t "$image" "$work/context" >/dev/null
say "image built: $(stat -c %s "$work/context/cors") bytes binary, $("${podman[@]}" image inspect --format '{{.Size}}' "$image") bytes image"

inspect() { "${buildah[@]}" inspect --type image --format "$1" "$image"; }
[ "$(inspect '{{.Docker.Config.User}}')" = 65532:65532 ] || fail "user: $(inspect '{{.Docker.Config.User}}')"
[[ $(inspect '{{.Docker.Config.Env}}') == *CORS_LISTEN=0.0.0.0:8787* ]] || fail "env: $(inspect '{{.Docker.Config.Env}}')"
[ "$(inspect '{{.Docker.Config.Entrypoint}}')" = '[/usr/local/bin/cors proxy]' ] || fail "entrypoint"
[ "$(inspect '{{.Docker.Config.Healthcheck.Test}}')" = '[CMD /usr/local/bin/cors healthcheck]' ] ||
    fail "healthcheck: $(inspect '{{.Docker.Config.Healthcheck.Test}}')"
say "buildah inspect: user $(inspect '{{.Docker.Config.User}}'), $(inspect '{{.Docker.Config.Env}}'), healthcheck $(inspect '{{.Docker.Config.Healthcheck.Test}}')"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
mkdir "$work/www"
echo "upstream says hi" >"$work/www/hello.txt"
up_port=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$work/www" "$up_port" 2>"$work/upstream.log" >/dev/null &
upstream_pid=$!
port=$(free_port)

"${podman[@]}" run -d --name cors-smoke --network=host -e CORS_LISTEN="127.0.0.1:$port" "$image" \
    --to "http://127.0.0.1:$up_port" --allow-origin http://allowed.test >/dev/null 2>"$work/run.err" ||
    { cat "$work/run.err"; fail "podman run"; }
healthy=
for _ in $(seq 50); do
    if "${podman[@]}" healthcheck run cors-smoke >/dev/null 2>&1; then healthy=1; break; fi
    sleep 0.2
done
[ -n "$healthy" ] || { "${podman[@]}" logs cors-smoke; fail "the health check never passed"; }
say "podman healthcheck run: healthy (cors healthcheck probing 127.0.0.1:$port inside)"

body=$(python3 - "$port" <<'PY'
import sys, urllib.request
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/hello.txt", headers={"Origin": "http://allowed.test"})
with urllib.request.urlopen(req, timeout=10) as res:
    print(res.status, res.headers.get("access-control-allow-origin"), res.read().decode().strip())
PY
)
[ "$body" = "200 http://allowed.test upstream says hi" ] || fail "through the proxy: $body"
grep -q '"GET /hello.txt HTTP/1.1" 200' "$work/upstream.log" || fail "the upstream saw no request"
say "GET /hello.txt through the container: $body"

start=$(date +%s%N)
# (Without systemd, podman reports that it cannot remove the health-check timer: harmless.)
"${podman[@]}" stop -t 10 cors-smoke >/dev/null 2>"$work/stop.err"
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
code=$("${podman[@]}" inspect --format '{{.State.ExitCode}}' cors-smoke)
say "podman stop: ${elapsed_ms} ms, exit status $code"
[ "$code" = 0 ] || { "${podman[@]}" logs cors-smoke; fail "exit status $code after SIGTERM"; }
[ "$elapsed_ms" -lt 2000 ] || fail "podman stop took ${elapsed_ms} ms"
logs=$("${podman[@]}" logs cors-smoke 2>&1)
grep -q "listening on http://127.0.0.1:$port" <<<"$logs" || fail "listen address; logs: $logs"
say "passed"
