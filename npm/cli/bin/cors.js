#!/usr/bin/env node
// The `cors` command of @tower-cors/cli: runs the native binary of this platform's package with
// the same arguments and stdio, forwards the stop signals to it, and exits as it did.
"use strict";

const { spawn } = require("node:child_process");
const { constants } = require("node:os");
const { host } = require("../lib/platforms.js");
const { locate } = require("../lib/locate.js");
const { version } = require("../package.json");

const found = locate({ host: host(), env: process.env, resolve: require.resolve, version });
if (found.error) {
  console.error(`cors: ${found.error}`);
  process.exit(1);
}

const child = spawn(found.binary, process.argv.slice(2), { stdio: "inherit" });

// Forwarded so that `npx @tower-cors/cli proxy` drains on stop like the binary run directly. A
// terminal's Ctrl-C reaches both processes; the proxy takes the second SIGINT as the same stop.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  });
}

child.on("error", (err) => {
  console.error(`cors: cannot run ${found.binary}: ${err.message}`);
  process.exit(1);
});

child.on("exit", (code, signal) => {
  // A binary killed by signal n exits 128 + n, as a shell reports it: never 0.
  if (signal) process.exit(128 + (constants.signals[signal] || 0));
  process.exit(code ?? 1);
});
