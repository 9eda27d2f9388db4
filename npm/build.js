#!/usr/bin/env node
// Builds the npm packages of the `cors` binary into a directory, ready for `npm pack` or
// `npm publish`: the launcher @tower-cors/cli, and one platform package per binary given.
//
//   node npm/build.js --out DIR --binary linux-x64=target/release/cors [--binary KEY=PATH]...
//
// KEY is a platform package's suffix (linux-x64, linux-x64-musl, linux-arm64, linux-arm64-musl,
// darwin-x64, darwin-arm64, win32-x64). The version, license, repository and homepage come from
// [workspace.package] in Cargo.toml, so npm and crates.io always agree; the launcher lists every
// platform package in its optionalDependencies at exactly that version. No package has an install
// script: the launcher finds its binary when it runs.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { LAUNCHER, BIN, PLATFORMS, platformKey, packageName, binaryName } = require("./cli/lib/platforms.js");

const ROOT = path.resolve(__dirname, "..");
const LICENSES = ["LICENSE-MIT", "LICENSE-APACHE"];

function fail(message) {
  console.error(`npm/build.js: ${message}`);
  process.exit(2);
}

/** The string keys of Cargo.toml's [workspace.package] table. */
function workspacePackage() {
  const text = fs.readFileSync(path.join(ROOT, "Cargo.toml"), "utf8");
  const table = text.split(/^\[workspace\.package\]\s*$/m)[1];
  if (!table) fail("Cargo.toml has no [workspace.package] table");
  const fields = {};
  for (const line of table.split("\n")) {
    if (line.startsWith("[")) break;
    const m = /^([a-z-]+)\s*=\s*"([^"]*)"/.exec(line);
    if (m) fields[m[1]] = m[2];
  }
  for (const key of ["version", "license", "repository", "homepage"]) {
    if (!fields[key]) fail(`[workspace.package] in Cargo.toml has no ${key}`);
  }
  return fields;
}

function parseArgs(argv) {
  const args = { out: undefined, binaries: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    if (argv[i] === "--out" && value) {
      args.out = path.resolve(value);
      i++;
    } else if (argv[i] === "--binary" && value) {
      const [key, file] = value.split(/=(.*)/s);
      const platform = PLATFORMS.find((p) => platformKey(p) === key);
      if (!platform || !file) {
        fail(`--binary ${value}: expected KEY=PATH, KEY one of ${PLATFORMS.map(platformKey).join(", ")}`);
      }
      if (!fs.statSync(file, { throwIfNoEntry: false })?.isFile()) fail(`--binary ${value}: no such file`);
      args.binaries.set(platform, path.resolve(file));
      i++;
    } else {
      fail(`unexpected argument ${argv[i]} (usage: --out DIR --binary KEY=PATH...)`);
    }
  }
  if (!args.out) fail("--out DIR is required");
  return args;
}

function common(meta) {
  return {
    version: meta.version,
    license: meta.license,
    homepage: meta.homepage,
    repository: { type: "git", url: `git+${meta.repository}.git` },
    bugs: { url: `${meta.repository}/issues` },
    publishConfig: { access: "public" },
  };
}

function writeJson(file, value) {
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

function copyLicenses(dir) {
  for (const name of LICENSES) fs.copyFileSync(path.join(ROOT, name), path.join(dir, name));
}

function buildLauncher(out, meta) {
  const dir = path.join(out, "cli");
  fs.cpSync(path.join(__dirname, "cli"), dir, { recursive: true });
  fs.chmodSync(path.join(dir, "bin", "cors.js"), 0o755);
  copyLicenses(dir);
  writeJson(path.join(dir, "package.json"), {
    name: LAUNCHER,
    description: "The `cors` command: see CORS as the browser sees it, audit, validate, run a CORS proxy",
    keywords: ["cors", "cli", "proxy", "fetch", "debugging"],
    ...common(meta),
    bin: { [BIN]: "bin/cors.js" },
    files: ["bin/", "lib/", ...LICENSES, "README.md"],
    engines: { node: ">=18" },
    optionalDependencies: Object.fromEntries(PLATFORMS.map((p) => [packageName(p), meta.version])),
  });
  return dir;
}

function buildPlatform(out, meta, platform, binary) {
  const dir = path.join(out, `cli-${platformKey(platform)}`);
  fs.mkdirSync(dir, { recursive: true });
  const target = path.join(dir, binaryName(platform));
  fs.copyFileSync(binary, target);
  // Artifact uploads drop the executable bit; the package must not.
  fs.chmodSync(target, 0o755);
  copyLicenses(dir);
  const libc = platform.libc ? ` (${platform.libc})` : "";
  fs.writeFileSync(
    path.join(dir, "README.md"),
    `# ${packageName(platform)}\n\nThe \`cors\` binary (${platform.target}) for ` +
      `${platform.os}-${platform.cpu}${libc}. Install [${LAUNCHER}](https://www.npmjs.com/package/${LAUNCHER}) ` +
      `instead: it depends on this package on this platform only.\n`,
  );
  writeJson(path.join(dir, "package.json"), {
    name: packageName(platform),
    description: `The cors binary for ${platform.os}-${platform.cpu}${libc}; install ${LAUNCHER}`,
    ...common(meta),
    os: [platform.os],
    cpu: [platform.cpu],
    ...(platform.libc ? { libc: [platform.libc] } : {}),
    files: [binaryName(platform), ...LICENSES, "README.md"],
    // Yarn PnP: an executable must be on disk, not in a zip.
    preferUnplugged: true,
  });
  return dir;
}

const args = parseArgs(process.argv.slice(2));
const meta = workspacePackage();
fs.rmSync(args.out, { recursive: true, force: true });
fs.mkdirSync(args.out, { recursive: true });
console.log(buildLauncher(args.out, meta));
for (const [platform, binary] of args.binaries) console.log(buildPlatform(args.out, meta, platform, binary));
