// The launcher's choice of binary and its one-line errors, for every kind of host.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const { locate } = require("../cli/lib/locate.js");

/** A `require.resolve` that knows only `installed` packages (by name suffix). */
const resolver = (...installed) => (specifier) => {
  const hit = installed.find((key) => specifier.startsWith(`@tower-cors/cli-${key}/`));
  if (!hit) throw Object.assign(new Error(`Cannot find module '${specifier}'`), { code: "MODULE_NOT_FOUND" });
  return `/nm/${specifier}`;
};
const linux = { os: "linux", cpu: "x64", libc: "glibc" };
const alpine = { os: "linux", cpu: "x64", libc: "musl" };
const run = (host, resolve, env = {}) => locate({ host, env, resolve, version: "1.2.3" });

test("each host runs its own package's binary", () => {
  assert.deepEqual(run(linux, resolver("linux-x64", "linux-x64-musl")), {
    binary: "/nm/@tower-cors/cli-linux-x64/cors",
  });
  assert.deepEqual(run(alpine, resolver("linux-x64", "linux-x64-musl")), {
    binary: "/nm/@tower-cors/cli-linux-x64-musl/cors",
  });
  assert.deepEqual(run({ os: "darwin", cpu: "arm64" }, resolver("darwin-arm64")), {
    binary: "/nm/@tower-cors/cli-darwin-arm64/cors",
  });
  assert.deepEqual(run({ os: "win32", cpu: "x64" }, resolver("win32-x64")), {
    binary: "/nm/@tower-cors/cli-win32-x64/cors.exe",
  });
});

test("the static musl binary stands in on glibc, never the reverse", () => {
  assert.deepEqual(run(linux, resolver("linux-x64-musl")), {
    binary: "/nm/@tower-cors/cli-linux-x64-musl/cors",
  });
  const { error } = run(alpine, resolver("linux-x64"));
  assert.match(error, /^@tower-cors\/cli-linux-x64-musl is missing but @tower-cors\/cli-linux-x64 is installed/);
});

test("TOWER_CORS_BINARY wins, even where nothing is installed", () => {
  assert.deepEqual(run({ os: "freebsd", cpu: "x64" }, resolver(), { TOWER_CORS_BINARY: "/opt/cors" }), {
    binary: "/opt/cors",
  });
});

test("errors are one line naming what to install", () => {
  const cases = [
    [linux, resolver(), /^@tower-cors\/cli-linux-x64 is not installed .*`npm install @tower-cors\/cli-linux-x64@1\.2\.3`$/],
    [linux, resolver("darwin-arm64"), /^@tower-cors\/cli-linux-x64 is missing but @tower-cors\/cli-darwin-arm64 is installed \(node_modules from another platform\?\)/],
    [{ os: "freebsd", cpu: "x64" }, resolver(), /^@tower-cors\/cli has no binary for freebsd-x64; .*cargo install tower-cors-cli.*TOWER_CORS_BINARY/],
    [{ os: "linux", cpu: "ia32", libc: "glibc" }, resolver("linux-x64"), /no binary for linux-ia32 \(glibc\)/],
  ];
  for (const [host, resolve, pattern] of cases) {
    const { error, binary } = run(host, resolve);
    assert.equal(binary, undefined);
    assert.match(error, pattern);
    assert.ok(!error.includes("\n"), error);
  }
});
