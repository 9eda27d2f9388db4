// The npm identifiers of the `cors` binary, written once: the launcher (`bin/cors.js`) resolves
// its platform package with them and `npm/build.js` names and tags the packages with them.
"use strict";

const SCOPE = "@tower-cors";
const LAUNCHER = `${SCOPE}/cli`;
const BIN = "cors";

// Node's `process.platform`/`process.arch`, the npm `libc` of every Linux package, and the Rust
// target whose release binary goes in. Linux packages carry `libc` on both twins: with only the
// musl one tagged, npm before 10.4 and some other clients gave glibc hosts neither.
const PLATFORMS = [
  { os: "linux", cpu: "x64", libc: "glibc", target: "x86_64-unknown-linux-gnu" },
  { os: "linux", cpu: "x64", libc: "musl", target: "x86_64-unknown-linux-musl" },
  { os: "linux", cpu: "arm64", libc: "glibc", target: "aarch64-unknown-linux-gnu" },
  { os: "linux", cpu: "arm64", libc: "musl", target: "aarch64-unknown-linux-musl" },
  { os: "darwin", cpu: "x64", target: "x86_64-apple-darwin" },
  { os: "darwin", cpu: "arm64", target: "aarch64-apple-darwin" },
  { os: "win32", cpu: "x64", target: "x86_64-pc-windows-msvc" },
];

/** `linux-x64-musl`, `darwin-arm64`...: the suffix of a platform package's name. */
function platformKey(p) {
  return `${p.os}-${p.cpu}${p.libc === "musl" ? "-musl" : ""}`;
}

/** `@tower-cors/cli-linux-x64-musl`. */
function packageName(p) {
  return `${LAUNCHER}-${platformKey(p)}`;
}

/** The binary's file name inside its platform package. */
function binaryName(p) {
  return p.os === "win32" ? `${BIN}.exe` : BIN;
}

/**
 * Whether this Linux process runs on musl, from Node's own diagnostic report: glibc builds of
 * Node report the glibc version they run on, musl builds do not and load `ld-musl-*`. Network
 * details are left out of the report (they cost DNS lookups); no `ldd` is spawned.
 */
function isMusl() {
  if (process.platform !== "linux" || !process.report) return false;
  process.report.excludeNetwork = true;
  const report = process.report.getReport();
  if (report.header && report.header.glibcVersionRuntime) return false;
  const shared = Array.isArray(report.sharedObjects) ? report.sharedObjects : [];
  // No glibc version: a musl build of Node (Alpine's), unless it loaded no musl either.
  return shared.length === 0 || shared.some((f) => f.includes("ld-musl-") || f.includes("libc.musl-"));
}

/** This host as `{os, cpu, libc}` (libc only on Linux). */
function host() {
  const h = { os: process.platform, cpu: process.arch };
  if (h.os === "linux") h.libc = isMusl() ? "musl" : "glibc";
  return h;
}

/** The platform entry for `h`, or undefined when no package is built for it. */
function platformFor(h) {
  return PLATFORMS.find(
    (p) => p.os === h.os && p.cpu === h.cpu && (p.libc === undefined || p.libc === h.libc),
  );
}

module.exports = {
  SCOPE,
  LAUNCHER,
  BIN,
  PLATFORMS,
  platformKey,
  packageName,
  binaryName,
  host,
  platformFor,
};
