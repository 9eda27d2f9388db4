#!/usr/bin/env bash
# Checks the release configuration with cargo-dist itself (not part of .ci/run: building `dist`
# takes long; `cargo install cargo-dist --locked` once). Needs no network.
#
# - `dist plan` runs clean and `dist generate --check` finds the committed release workflow
#   up to date with dist-workspace.toml;
# - the cargo-binstall metadata of tower-cors-cli, rendered for x86_64-unknown-linux-gnu, is the
#   URL of the archive dist plans for that target, and names the binary's path inside it;
# - with `--build`, builds that archive (`dist build`, the dist profile) and checks its contents.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "dist check: $*"; }
fail() { echo "dist check: FAIL: $*" >&2; exit 1; }
command -v dist >/dev/null || fail "no \`dist\` on PATH (cargo install cargo-dist --locked)"

target=x86_64-unknown-linux-gnu
dist generate --check >/dev/null || fail "the release workflow is stale: run \`dist generate\`"
dist plan >/dev/null
plan=$(dist plan --output-format=json 2>/dev/null)
metadata=$(cargo metadata --format-version 1 --no-deps)

read -r planned_url archive < <(python3 - "$target" "$plan" <<'PY'
import json, sys
target, plan = sys.argv[1], json.loads(sys.argv[2])
hosting = plan["releases"][0]["hosting"]["github"]
[name] = [a["name"] for a in plan["artifacts"].values()
          if a["kind"] == "executable-zip" and a["target_triples"] == [target]]
print(f'{hosting["artifact_base_url"]}{hosting["artifact_download_path"]}/{name}', name)
PY
)
read -r pkg_url bin_dir < <(python3 - "$target" "$metadata" <<'PY'
import json, sys
target, meta = sys.argv[1], json.loads(sys.argv[2])
[cli] = [p for p in meta["packages"] if p["name"] == "tower-cors-cli"]
binstall = cli["metadata"]["binstall"]
suffix = {"txz": ".tar.xz", "tgz": ".tar.gz", "zip": ".zip"}[binstall["pkg-fmt"]]
values = {"repo": cli["repository"], "version": cli["version"], "name": cli["name"],
          "target": target, "archive-suffix": suffix, "bin": "cors", "binary-ext": ""}
def render(template):
    for key, value in values.items():
        template = template.replace("{ %s }" % key, value)
    assert "{" not in template, template
    return template
print(render(binstall["pkg-url"]), render(binstall["bin-dir"]))
PY
)
say "dist plans   $planned_url"
say "binstall gets $pkg_url, binary at $bin_dir"
[ "$pkg_url" = "$planned_url" ] || fail "binstall's pkg-url does not match the planned archive"

if [ "${1:-}" = --build ]; then
    dist build --artifacts=local --target "$target" >/dev/null
    # dist writes archives under the workspace's own target/distrib, whatever CARGO_TARGET_DIR says.
    file="target/distrib/$archive"
    listing=$(tar -tJf "$file")
    for entry in "$bin_dir" "${bin_dir%/*}/LICENSE-MIT" "${bin_dir%/*}/LICENSE-APACHE" \
        "${bin_dir%/*}/man/cors.1" "${bin_dir%/*}/man/cors-proxy.1" "${bin_dir%/*}/completions/_cors"; do
        grep -qx "$entry" <<<"$listing" || fail "$archive lacks $entry"
    done
    say "built $archive ($(stat -c %s "$file") bytes): $(wc -l <<<"$listing") entries, binary at $bin_dir"
fi
say "passed"
