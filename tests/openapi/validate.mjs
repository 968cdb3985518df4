// Validates an OpenAPI document (JSON) with @apidevtools/swagger-parser:
//   node tests/openapi/validate.mjs FILE
// Exit 0 and one "valid" line when the document is valid; exit 1 with every
// error found otherwise; exit 2 on a usage error.
//
// swagger-parser resolves every $ref (a reference to a missing schema fails)
// and validates the whole document against the official JSON Schema of its
// OpenAPI version (3.0.x or 3.1.x). For OpenAPI 3 it checks no rule beyond
// that schema, so a few rules of the specification that a schema cannot
// express are checked here as well: a served document is self-contained
// (every $ref local), operationIds are unique, and every {name} in a path is a
// declared path parameter with required: true.
//
// Offline: nothing is fetched, external references are refused.
// Works on Node.js 18 (Debian 12) and newer.
import { readFileSync } from "node:fs";
import SwaggerParser from "@apidevtools/swagger-parser";

const file = process.argv[2];
if (!file || process.argv.length > 3) {
  console.error("usage: node validate.mjs FILE.json");
  process.exit(2);
}

const fail = (errors) => {
  console.error(`${file}: INVALID OpenAPI document`);
  for (const error of errors) console.error(`  - ${error}`);
  process.exit(1);
};

let document;
try {
  document = JSON.parse(readFileSync(file, "utf8"));
} catch (error) {
  fail([`not readable JSON: ${error.message}`]);
}
if (document === null || typeof document !== "object" || Array.isArray(document))
  fail(["the document is not a JSON object"]);

const errors = [];

// Every $ref must point into this document.
const walk = (node, pointer) => {
  if (Array.isArray(node)) {
    node.forEach((item, i) => walk(item, `${pointer}/${i}`));
  } else if (node !== null && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      const here = `${pointer}/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`;
      if (key === "$ref" && (typeof value !== "string" || !value.startsWith("#")))
        errors.push(`${here}: ${JSON.stringify(value)} is not a reference inside the document`);
      walk(value, here);
    }
  }
};
walk(document, "#");

// operationIds unique; path templates match required path parameters.
const operationIds = new Map();
const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
for (const [path, item] of Object.entries(document.paths ?? {})) {
  if (item === null || typeof item !== "object") continue;
  const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
  for (const method of methods) {
    const operation = item[method];
    if (operation === null || typeof operation !== "object") continue;
    const where = `${method.toUpperCase()} ${path}`;
    if (typeof operation.operationId === "string") {
      if (operationIds.has(operation.operationId))
        errors.push(`${where}: operationId ${operation.operationId} is also used by ${operationIds.get(operation.operationId)}`);
      else operationIds.set(operation.operationId, where);
    }
    const parameters = [...(Array.isArray(item.parameters) ? item.parameters : []),
                        ...(Array.isArray(operation.parameters) ? operation.parameters : [])];
    const inPath = parameters.filter((p) => p && p.in === "path");
    for (const name of templated) {
      const declared = inPath.find((p) => p.name === name);
      if (!declared) errors.push(`${where}: path parameter {${name}} is not declared`);
      else if (declared.required !== true) errors.push(`${where}: path parameter ${name} must have required: true`);
    }
    for (const p of inPath)
      if (!templated.includes(p.name)) errors.push(`${where}: path parameter ${p.name} is not in the path`);
  }
}

// swagger-parser validates after replacing every $ref by its target, so an
// error in a component schema comes again wherever the schema is used, each
// wrapped in "must have required property '$ref'" / "must match exactly one
// schema in oneOf" (a Reference or a Schema). Readable: the errors themselves,
// those at their source in #/components when there are any, and the count.
function schemaErrors(error) {
  if (!Array.isArray(error.details)) return [error.message];
  const pointer = (e) => `#${e.instancePath ?? e.dataPath ?? ""}`;
  const line = (e) => `${pointer(e)} ${e.message}${e.params?.allowedValues ? ` (${e.params.allowedValues.join(", ")})` : ""}`;
  const wrapper = (e) => e.keyword === "oneOf" || (e.keyword === "required" && e.params?.missingProperty === "$ref");
  const leaves = error.details.filter((e) => !wrapper(e));
  if (leaves.length === 0) return [error.message];
  const atSource = leaves.filter((e) => pointer(e).startsWith("#/components/"));
  const shown = atSource.length ? atSource : leaves;
  const lines = [...new Set(shown.map(line))];
  const rest = error.details.length - shown.length;
  return [`OpenAPI ${document.openapi} schema validation failed: ${error.details.length} errors; ` +
            (rest ? `these ${shown.length}, and ${rest} more where these schemas are used or wrap them:` : "these:"),
          ...lines];
}

try {
  await SwaggerParser.validate(structuredClone(document), {
    resolve: { external: false },
    validate: { schema: true, spec: true },
  });
} catch (error) {
  errors.unshift(...schemaErrors(error));
}

if (errors.length) fail(errors);
console.log(`${file}: valid OpenAPI ${document.openapi ?? document.swagger} document (${document.info?.title ?? "untitled"})`);
