import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROAD_TEMPLATES, type RoadChoice } from "./scaffold-roads.js";
import { SOURCE_TEMPLATES, type ScaffoldVariable, type SourceChoice } from "./scaffold-sources.js";
import { workflowYaml } from "./scaffold-workflow.js";
import { SCHEMA_PATH } from "./schema.js";

export { ROAD_CHOICES, ROAD_TEMPLATES, type RoadChoice } from "./scaffold-roads.js";
export { SOURCE_CHOICES, SOURCE_TEMPLATES, type SourceChoice } from "./scaffold-sources.js";

/** A file `coho init` writes, path relative to the new project folder. */
export interface ScaffoldFile {
  readonly path: string;
  readonly content: string;
}

export interface ScaffoldOptions {
  readonly road: RoadChoice;
  readonly source: SourceChoice;
  /** Also a GitHub Actions workflow using the coho action, and state in PostgreSQL. */
  readonly github: boolean;
  /** coho's version, for the workflow's pins. */
  readonly version: string;
}

/** The public /users/track road, which every Braze customer can use; the embedded engine. */
export const DEFAULT_SCAFFOLD: Omit<ScaffoldOptions, "version"> = { road: "attributes", source: "duckdb", github: false };

/**
 * The files of a new project. It validates at once: `.env` (git-ignored) holds
 * local values — the emulator's credentials, a local database — for the
 * variables the project reads, and `.env.example` names every one of them with
 * what a real workspace needs.
 */
export function scaffoldFiles(targetDir: string, options: ScaffoldOptions): ScaffoldFile[] {
  const schema = schemaReference(targetDir);
  const source = SOURCE_TEMPLATES[options.source];
  const variables = scaffoldVariables(options);
  return [
    { path: "coho.yaml", content: cohoYaml(schema.modeline, options) },
    ...(schema.copy ? [{ path: SCHEMA_COPY, content: readFileSync(SCHEMA_PATH, "utf8") }] : []),
    { path: "models/active_users.sql", content: source.modelSql },
    ...source.files,
    { path: ".env.example", content: envFile("Copy to .env (never commit it) and fill in your Braze workspace's values.", variables, (v) => v.example) },
    { path: ".env", content: envFile("Local values: the emulator's credentials (`coho emulator`). Never commit this file.", variables.filter((v) => v.local !== ""), (v) => v.local) },
    ...(options.github ? [{ path: ".github/workflows/coho.yml", content: workflowYaml({ version: options.version, variables }) }] : []),
  ];
}

/** Every variable the scaffold's configuration (and workflow) reads. */
export function scaffoldVariables(options: Omit<ScaffoldOptions, "version">): ScaffoldVariable[] {
  const variables = [...ROAD_TEMPLATES[options.road].variables({ fromEnvironment: options.github }), ...SOURCE_TEMPLATES[options.source].variables];
  if (options.github) {
    variables.push({ name: "COHO_STATE_URL", example: "", local: "", comment: "The state database (PostgreSQL), shared by every runner. Unset locally: plan reads the committed coho.lock." });
  }
  return variables;
}

function envFile(title: string, variables: readonly ScaffoldVariable[], value: (v: ScaffoldVariable) => string): string {
  return `# ${title}\n${variables.map((v) => `\n# ${v.comment}\n${v.name}=${value(v)}\n`).join("")}`;
}

/** The schema copy `coho init` writes when the project has no coho in node_modules. */
export const SCHEMA_COPY = "coho.schema.json";
const INSTALLED_SCHEMA = "node_modules/coho/schema/coho.schema.json";

/**
 * The `$schema` modeline must work for every teammate and CI, so it never points
 * at wherever this coho happens to be installed: the project's own
 * node_modules/coho when coho is a dependency there, else a copy committed with
 * the project (refreshed by running `coho init` in an empty folder, or copying
 * schema/coho.schema.json from the coho package).
 */
function schemaReference(targetDir: string): { modeline: string; copy: boolean } {
  if (existsSync(join(targetDir, INSTALLED_SCHEMA))) return { modeline: `./${INSTALLED_SCHEMA}`, copy: false };
  return { modeline: `./${SCHEMA_COPY}`, copy: true };
}

/** Lines `coho init` makes sure .gitignore has. */
export const GITIGNORE_ENTRIES = [".env", ".coho/"] as const;

const STATE_YAML = `
# State in PostgreSQL: every runner of the workflow sees the same state.
state:
  backend: postgres
  url: \${env:COHO_STATE_URL}
`;

const cohoYaml = (schema: string, options: Omit<ScaffoldOptions, "version">) => `# yaml-language-server: $schema=${schema}
version: 1
${options.github ? STATE_YAML : ""}
sources:
${SOURCE_TEMPLATES[options.source].sourceYaml}
destinations:
${ROAD_TEMPLATES[options.road].destinationYaml({ fromEnvironment: options.github })}
models:
  active_users:
    source: warehouse
    primary_key: user_id
    file: models/active_users.sql

identifiers:
  user_id: { type: external_id, column: user_id }

cohorts:
  active_users:
    name: Active users
    destination: braze
    model: active_users
    identifier: user_id
${ROAD_TEMPLATES[options.road].cohortYaml}    guards:
      max_removals: 10%
`;
