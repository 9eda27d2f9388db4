// Loopback servers for npm/test.sh: `cors` answers for `http://allowed.test` only; `silent`
// accepts and never answers, and writes `connected`/`closed` to STATE_DIR as its peer does.
// Prints `CORS_PORT SILENT_PORT` once both listen.
"use strict";

const fs = require("node:fs");
const http = require("node:http");
const net = require("node:net");
const path = require("node:path");

const stateDir = process.argv[2];
const ALLOWED = "http://allowed.test";

const cors = http.createServer((req, res) => {
  const headers = { "content-type": "text/plain", vary: "origin" };
  if (req.headers.origin === ALLOWED) headers["access-control-allow-origin"] = ALLOWED;
  res.writeHead(200, headers);
  res.end("hello\n");
});

const silent = net.createServer((socket) => {
  fs.writeFileSync(path.join(stateDir, "connected"), "");
  socket.on("close", () => fs.writeFileSync(path.join(stateDir, "closed"), ""));
  socket.on("error", () => {});
  // Read (and drop) the request: a paused socket never sees its peer close.
  socket.resume();
});

cors.listen(0, "127.0.0.1", () => {
  silent.listen(0, "127.0.0.1", () => {
    console.log(`${cors.address().port} ${silent.address().port}`);
  });
});
