// Which binary the launcher runs, as a pure decision over the host and what is installed, so
// every answer (and every one-line error) is testable without the platform it describes.
"use strict";

const { LAUNCHER, PLATFORMS, packageName, binaryName, platformFor } = require("./platforms.js");

const ENV_BINARY = "TOWER_CORS_BINARY";

/**
 * `{binary}` to run, or `{error}`: one line saying what to install.
 *
 * - `host`: `{os, cpu, libc}` of this machine;
 * - `env`: the environment (`TOWER_CORS_BINARY` wins over everything);
 * - `resolve(specifier)`: `require.resolve`, throwing when the package is not installed;
 * - `version`: the launcher's version, which its platform packages share.
 */
function locate({ host, env, resolve, version }) {
  if (env[ENV_BINARY]) return { binary: env[ENV_BINARY] };
  const tryResolve = (p) => {
    try {
      return resolve(`${packageName(p)}/${binaryName(p)}`);
    } catch {
      return undefined;
    }
  };
  const wanted = platformFor(host);
  if (wanted) {
    const binary = tryResolve(wanted);
    if (binary) return { binary };
  }
  // The musl binaries are static: they also run on a glibc Linux of the same CPU (an install
  // made with `--libc=musl`, or a lockfile written on Alpine).
  if (host.os === "linux") {
    const musl = platformFor({ ...host, libc: "musl" });
    const binary = musl && tryResolve(musl);
    if (binary) return { binary };
  }
  const here = `${host.os}-${host.cpu}${host.libc ? ` (${host.libc})` : ""}`;
  if (!wanted) {
    return {
      error:
        `${LAUNCHER} has no binary for ${here}; build one with \`cargo install tower-cors-cli\` ` +
        `and point ${ENV_BINARY} at it`,
    };
  }
  const other = PLATFORMS.find((p) => p !== wanted && tryResolve(p));
  const install = `npm install ${packageName(wanted)}@${version}`;
  if (other) {
    return {
      error:
        `${packageName(wanted)} is missing but ${packageName(other)} is installed ` +
        `(node_modules from another platform?): reinstall on this machine, or \`${install}\``,
    };
  }
  return {
    error:
      `${packageName(wanted)} is not installed (were optional dependencies omitted?): ` +
      `\`${install}\``,
  };
}

module.exports = { locate, ENV_BINARY };
