// Runs the pinned solc-js (package.json) on a Solidity standard JSON input read from stdin and writes
// {"version": <solc long version>, "output": <standard JSON output>} to stdout. ledger/build.py drives it.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const require = createRequire(import.meta.url);
const solc = require("solc");

const input = readFileSync(0, "utf8");
const output = JSON.parse(solc.compile(input));
process.stdout.write(JSON.stringify({ version: solc.version(), output }));
