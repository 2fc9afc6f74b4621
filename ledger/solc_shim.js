#!/usr/bin/env node
// Native-solc look-alike over solc-js (npm `solc`), for py-solc-x's `solc_binary`.
//
// py-solc-x runs `<binary> --version` and parses "Version: 0.8.x+commit...", then
// `<binary> --standard-json [--base-path D] [--allow-paths D,...]` with the input on stdin and
// parses stdout as JSON. solc-js's own CLI prints a non-JSON banner on stdout, so it cannot be
// used directly. Imports are resolved from the base path, then from each allowed path
// (node_modules for `@openzeppelin/...`), and never outside them.
"use strict";

const fs = require("fs");
const path = require("path");
const solc = require("solc");

function option(args, name) {
  const at = args.indexOf(name);
  return at >= 0 && at + 1 < args.length ? args[at + 1] : null;
}

function main(args) {
  if (args.includes("--version")) {
    process.stdout.write("solc, the solidity compiler commandline interface\n");
    process.stdout.write(`Version: ${solc.version().replace(".Emscripten.clang", ".Linux.g++")}\n`);
    return 0;
  }
  if (!args.includes("--standard-json")) {
    process.stderr.write("solc_shim: only --version and --standard-json are supported\n");
    return 2;
  }
  const basePath = path.resolve(option(args, "--base-path") || process.cwd());
  const roots = [basePath].concat(
    (option(args, "--allow-paths") || "").split(",").filter(Boolean).map((p) => path.resolve(p)),
  );

  function findImports(unitName) {
    for (const root of roots) {
      const candidate = path.resolve(root, unitName);
      if (!candidate.startsWith(root + path.sep)) continue;
      if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, "utf8") };
    }
    return { error: `File not found in ${roots.join(", ")}: ${unitName}` };
  }

  const input = fs.readFileSync(0, "utf8");
  process.stdout.write(solc.compile(input, { import: findImports }));
  return 0;
}

process.exitCode = main(process.argv.slice(2));
