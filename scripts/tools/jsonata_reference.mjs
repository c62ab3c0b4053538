// The reference JSONata (the npm `jsonata` package, pinned in package.json at
// the version Step Functions implements) evaluating a corpus the way Step
// Functions does: no input document, `$states` and the workflow variables
// as bindings. Reads a JSON array of {"expr", "bindings"} from the file named
// by argv[2]; prints one result per case: {"value": …}, {"undefined": true}
// or {"error": code, "message": …}.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const jsonata = require("jsonata");

const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
const results = [];
for (const c of cases) {
  try {
    const value = await jsonata(c.expr).evaluate(undefined, c.bindings);
    if (value === undefined) {
      results.push({ undefined: true });
    } else if (typeof value === "function") {
      results.push({ error: "function", message: "evaluates to a function" });
    } else {
      // Through JSON, as Step Functions hands results on (sequences become
      // arrays, non-finite numbers are refused).
      results.push({ value: JSON.parse(JSON.stringify(value)) });
    }
  } catch (e) {
    results.push({ error: e.code ?? "error", message: String(e.message ?? e) });
  }
}
process.stdout.write(JSON.stringify(results));
