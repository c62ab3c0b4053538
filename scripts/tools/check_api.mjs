// Checks `edba serve`'s JSON API against the JSON Schema it publishes, with
// ajv (draft 2020-12). Run by the edba test `serve::` (tests/it/serve.rs):
//
//   node scripts/tools/check_api.mjs API_URL EXECUTION_NAME
//
// Fetches /api/schema.json, then /api/executions (all, and filtered),
// /api/executions/EXECUTION_NAME, /api/status and two error answers, and
// validates each against the schema the path names. Exits 1 listing every
// response that does not conform.
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const [base, execution] = process.argv.slice(2);
if (!execution) {
  console.error('usage: check_api.mjs API_URL EXECUTION_NAME');
  process.exit(2);
}

async function get(path) {
  const response = await fetch(base + path);
  return { status: response.status, body: await response.json() };
}

const { body: schema } = await get('/api/schema.json');
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
// schemars' integer formats: the range is the check.
const ranges = { uint: [0, 2 ** 64], uint8: [0, 255], uint32: [0, 2 ** 32 - 1], uint64: [0, 2 ** 64], int32: [-(2 ** 31), 2 ** 31 - 1], int64: [-(2 ** 63), 2 ** 63] };
for (const [name, [min, max]] of Object.entries(ranges)) {
  ajv.addFormat(name, { type: 'number', validate: (n) => Number.isInteger(n) && n >= min && n <= max });
}
ajv.addSchema(schema);

const checks = [
  ['/api/executions', '/api/executions', 200],
  ['/api/executions?machine=ingest&status=SUCCEEDED&max=3', '/api/executions', 200],
  [`/api/executions/${encodeURIComponent(execution)}`, '/api/executions/{name}', 200],
  ['/api/status', '/api/status', 200],
  ['/api/executions/no-such-execution', 'error', 404],
  ['/api/executions?status=NOPE', 'error', 400],
];
const failures = [];
for (const [path, response, expected] of checks) {
  const { status, body } = await get(path);
  const validate = ajv.getSchema(`${schema.$id}#/responses/${response.replace(/~/g, '~0').replace(/\//g, '~1')}`);
  if (!validate) {
    failures.push(`${path}: the schema has no response ${response}`);
    continue;
  }
  if (status !== expected) failures.push(`${path}: HTTP ${status}, expected ${expected}`);
  if (!validate(body)) failures.push(`${path}: ${ajv.errorsText(validate.errors)}`);
  if (response === '/api/executions' && body.executions.length === 0) failures.push(`${path}: no executions`);
}
if (failures.length) {
  console.error(failures.join('\n'));
  process.exit(1);
}
console.log(`${checks.length} API responses conform to /api/schema.json`);
