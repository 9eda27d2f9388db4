#!/usr/bin/env bash
# The npm packages, tested without a registry: builds them from a `cors` binary with
# npm/build.js, packs them, installs the tarballs offline into temporary projects, and runs the
# launcher the way users do (`npx cors …`).
#
#   bash npm/test.sh BINARY [MUSL_BINARY]
#
# BINARY is a `cors` built for this host (the debug build is fine); MUSL_BINARY, when given, is
# packed as the -musl twin for the Alpine simulation. What this cannot prove: that a registry
# serves each optional dependency by name (here the tarballs are given to npm directly).
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "npm test: FAIL: $*" >&2; exit 1; }
say() { echo "npm test: $*"; }
[ $# -ge 1 ] || { echo "usage: bash npm/test.sh BINARY [MUSL_BINARY]" >&2; exit 2; }
binary=$(realpath "$1")
musl=${2:+$(realpath "$2")}

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# npm honours `libc` from 10.4 (Debian 12's npm 9.2 installs both twins): use a current npm,
# installed from the registry into the scratch directory when the one on PATH is older.
if ! node -e 'const [a,b]=process.argv[1].split(".").map(Number); process.exit(a>10||(a===10&&b>=4)?0:1)' \
    "$(npm --version)"; then
    say "npm $(npm --version) is older than 10.4: installing a current npm for this test"
    # The current npm needs Node 20.17; npm 10 (>= 10.4) also runs on Debian 12's Node 18.
    wanted=npm@latest
    node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=9)||(a===20&&b>=17)||a===21?0:1)' ||
        wanted=npm@10
    npm install --prefix "$work/npm" --no-audit --no-fund --loglevel=error "$wanted" >/dev/null
    export PATH="$work/npm/node_modules/.bin:$PATH"
fi
say "node $(node --version), npm $(npm --version)"

say "launcher unit tests"
node --test npm/test/locate.test.js >"$work/unit.log" 2>&1 || { cat "$work/unit.log"; fail "node --test npm/test/locate.test.js"; }

host=$(node -e 'const p=require("./npm/cli/lib/platforms.js"); const x=p.platformFor(p.host());
    if (!x) process.exit(1); console.log(p.platformKey(x))') || fail "no npm package for this host"
version=$(node -p 'require("./npm/cli/lib/platforms.js") && /^version = "(.*)"/m.exec(require("fs").readFileSync("Cargo.toml","utf8").split("[workspace.package]")[1])[1]')

# The debug binary carries ~100 MB of debug info: strip a copy so packing stays quick.
cp "$binary" "$work/cors"
if command -v strip >/dev/null; then strip "$work/cors"; fi
printf '#!/bin/sh\necho "not this platform" >&2\nexit 99\n' >"$work/foreign-cors"
args=(--binary "$host=$work/cors" --binary "darwin-arm64=$work/foreign-cors")
if [ -n "$musl" ]; then args+=(--binary "${host%-musl}-musl=$musl"); fi
node npm/build.js --out "$work/pkgs" "${args[@]}" >/dev/null

mkdir "$work/packs"
for dir in "$work"/pkgs/*; do
    (cd "$work/packs" && npm pack --silent "$dir" >/dev/null)
done
say "packed (version $version):"
(cd "$work/packs" && ls -l *.tgz | awk '{printf "  %-45s %9d bytes\n", $9, $5}')
launcher_tgz="$work/packs/tower-cors-cli-$version.tgz"
host_tgz="$work/packs/tower-cors-cli-$host-$version.tgz"
[ -f "$launcher_tgz" ] && [ -f "$host_tgz" ] || fail "missing tarballs"
tar -xOzf "$launcher_tgz" package/package.json | node -e '
    const p = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const hooks = Object.keys(p.scripts || {}).filter((s) => /install|prepare/.test(s));
    if (hooks.length) { console.error("install scripts: " + hooks); process.exit(1); }
    if (p.bin.cors !== "bin/cors.js") process.exit(1);
    for (const [name, v] of Object.entries(p.optionalDependencies))
        if (v !== p.version) { console.error(name + "@" + v); process.exit(1); }' ||
    fail "launcher package.json: install scripts, bin or optionalDependencies versions"
# (Listings are read whole: `grep -q` closing the pipe early would fail `tar` under pipefail.)
for tgz in "$launcher_tgz" "$host_tgz"; do
    listing=$(tar -tzf "$tgz")
    for file in LICENSE-MIT LICENSE-APACHE README.md; do
        grep -qx "package/$file" <<<"$listing" || fail "$tgz lacks $file"
    done
done
listing=$(tar -tvzf "$host_tgz" package/cors)
[[ $listing == -rwxr-xr-x* ]] || fail "the binary lost its executable bit"

# A project on this host, installed from the tarballs alone.
project() {
    mkdir "$work/$1"
    printf '{"name": "%s", "private": true}\n' "$1" >"$work/$1/package.json"
}
project app
(cd "$work/app" && npm install --offline --no-audit --no-fund --loglevel=error \
    "$host_tgz" "$launcher_tgz" >/dev/null) || fail "npm install --offline"
[ -x "$work/app/node_modules/@tower-cors/cli-$host/cors" ] || fail "the $host package is not installed"
[ ! -e "$work/app/node_modules/@tower-cors/cli-$host-musl" ] || fail "the musl twin was installed on glibc"

mkdir "$work/state"
node npm/test/servers.js "$work/state" >"$work/ports" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/ports" ] && break; sleep 0.1; done
read -r cors_port silent_port <"$work/ports" || fail "the loopback servers did not start"

cd "$work/app"
expect() { # expect STATUS COMMAND...: runs it, shows the exchange, checks the status
    local want=$1; shift
    set +e; "$@" >"$work/out" 2>&1; local got=$?; set -e
    echo "\$ ${*/#$work\/app\//}  # exit $got"
    sed -n '1,3p;/^verdict/p' "$work/out" | sed 's/^/  /'
    [ "$got" = "$want" ] || { cat "$work/out"; fail "expected exit $want, got $got: $*"; }
}
url="http://127.0.0.1:$cors_port/items"
expect 0 npx --offline cors check "$url" --origin http://allowed.test
expect 1 npx --offline cors check "$url" --origin http://blocked.test
expect 0 npx --offline @tower-cors/cli --version
expect 2 npx --offline cors check "$url"

# SIGTERM through the launcher reaches the binary, which dies of it: 143, never 0.
node_modules/.bin/cors check "http://127.0.0.1:$silent_port/" --origin http://allowed.test --timeout 60 \
    >/dev/null 2>&1 &
launcher=$!
for _ in $(seq 200); do [ -e "$work/state/connected" ] && break; sleep 0.05; done
[ -e "$work/state/connected" ] || fail "cors check never connected"
kill -TERM "$launcher"
set +e; wait "$launcher"; got=$?; set -e
say "SIGTERM to the launcher running \`cors check\` (binary waiting for an answer): exit $got"
[ "$got" = 143 ] || fail "expected 143 after SIGTERM, got $got"
for _ in $(seq 100); do [ -e "$work/state/closed" ] && break; sleep 0.05; done
[ -e "$work/state/closed" ] || fail "the binary outlived the launcher (its connection stayed open)"

# `npx … proxy` stops gracefully: the proxy gets SIGTERM, drains and exits 0.
node_modules/.bin/cors proxy --to "http://127.0.0.1:$cors_port" --allow-origin http://allowed.test \
    --listen 127.0.0.1:0 2>"$work/proxy.err" &
launcher=$!
for _ in $(seq 200); do grep -q 'listening on' "$work/proxy.err" && break; sleep 0.05; done
proxy_url=$(sed -n 's/^cors proxy: listening on \(http:[^ ]*\).*/\1/p' "$work/proxy.err")
[ -n "$proxy_url" ] || { cat "$work/proxy.err"; fail "the proxy did not start"; }
expect 0 npx --offline cors check "$proxy_url/items" --origin http://allowed.test
kill -TERM "$launcher"
set +e; wait "$launcher"; got=$?; set -e
say "SIGTERM to the launcher running \`cors proxy\`: exit $got (stopped gracefully)"
[ "$got" = 0 ] || { cat "$work/proxy.err"; fail "expected the proxy to drain and exit 0, got $got"; }

# TOWER_CORS_BINARY, and the exit status of a binary killed by a signal.
printf '#!/bin/sh\nexit 7\n' >"$work/seven"
printf '#!/bin/sh\nkill -KILL $$\n' >"$work/killed"
chmod +x "$work/seven" "$work/killed"
expect 7 env TOWER_CORS_BINARY="$work/seven" node_modules/.bin/cors
expect 137 env TOWER_CORS_BINARY="$work/killed" node_modules/.bin/cors

# node_modules from another platform (forced in, as a copied node_modules would be): one line
# naming the package to install.
project foreign
cd "$work/foreign"
npm install --offline --no-audit --no-fund --loglevel=error --force \
    "$work/packs/tower-cors-cli-darwin-arm64-$version.tgz" "$launcher_tgz" >/dev/null 2>&1 ||
    fail "npm install --force of the darwin package"
expect 1 node_modules/.bin/cors --version
grep -q "cli-$host is missing but @tower-cors/cli-darwin-arm64 is installed" "$work/out" || fail "wrong message"
[ "$(wc -l <"$work/out")" = 1 ] || fail "the error is not one line"

# An Alpine host, simulated with --libc=musl: npm picks the musl twin, never the glibc one.
project alpine
cd "$work/alpine"
musl_tgz=()
[ -z "$musl" ] || musl_tgz=("$work/packs/tower-cors-cli-${host%-musl}-musl-$version.tgz")
# One install: npm before npm/cli#9025 (2026) wrote no `libc` into the lockfile, so a second
# install in this project would also add the glibc twin (the launcher still picks the right one).
npm install --offline --no-audit --no-fund --loglevel=error --libc=musl --save-optional \
    "$host_tgz" "${musl_tgz[@]}" "$launcher_tgz" >/dev/null || fail "npm install --libc=musl"
[ ! -e "node_modules/@tower-cors/cli-$host" ] || fail "--libc=musl installed the glibc package"
if [ -n "$musl" ]; then
    [ -x "node_modules/@tower-cors/cli-${host%-musl}-musl/cors" ] || fail "the musl package is missing"
    # The static musl binary also runs here (a glibc host): the launcher falls back to it.
    expect 0 npx --offline cors check "$url" --origin http://allowed.test
    say "--libc=musl: installed the musl package only, and it runs"
else
    expect 1 npx --offline cors --version
    [ "$(wc -l <"$work/out")" = 1 ] || fail "the error is not one line"
    say "--libc=musl: no musl binary was given, so no package was installed and the launcher says so"
fi
say "all passed"
