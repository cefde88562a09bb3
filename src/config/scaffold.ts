import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SCHEMA_PATH } from "./schema.js";

/** A file `coho init` writes, path relative to the new project folder. */
export interface ScaffoldFile {
  readonly path: string;
  readonly content: string;
}

/**
 * The files of a new project. It validates at once: `.env` holds the local
 * emulator's credentials (and is git-ignored); `.env.example` shows what a real
 * workspace needs.
 */
export function scaffoldFiles(targetDir: string): ScaffoldFile[] {
  const schema = schemaReference(targetDir);
  return [
    { path: "coho.yaml", content: cohoYaml(schema.modeline) },
    ...(schema.copy ? [{ path: SCHEMA_COPY, content: readFileSync(SCHEMA_PATH, "utf8") }] : []),
    { path: "models/active_users.sql", content: ACTIVE_USERS_SQL },
    { path: "data/users.csv", content: USERS_CSV },
    { path: ".env.example", content: ENV_EXAMPLE },
    { path: ".env", content: ENV_LOCAL },
  ];
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


const cohoYaml = (schema: string) => `# yaml-language-server: $schema=${schema}
version: 1

sources:
  warehouse:
    type: duckdb              # embedded; add \`path: warehouse.duckdb\` for a database file

destinations:
  braze:
    type: braze_cohorts
    rest_endpoint: http://127.0.0.1:\${env:COHO_EMULATOR_PORT:-4010}    # \`coho emulator\`; a real instance: https://rest.iad-01.braze.com
    partner: coho-emulator
    partner_api_key: \${env:BRAZE_PARTNER_API_KEY}
    data_import_key: \${env:BRAZE_DATA_IMPORT_KEY}

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
    guards:
      max_removals: 10%
`;

const ACTIVE_USERS_SQL = `-- Rows of this query are the cohort's members; user_id is the Braze external_id.
select user_id
from read_csv('data/users.csv')
where active
`;

const USERS_CSV = `user_id,active
u001,true
u002,true
u003,false
`;

const ENV_EXAMPLE = `# Copy to .env (never commit it) and fill in your Braze workspace's credentials.
BRAZE_PARTNER_API_KEY=
BRAZE_DATA_IMPORT_KEY=
`;

const ENV_LOCAL = `# Credentials of the local emulator (\`coho emulator\`). Replace them for a real workspace.
BRAZE_PARTNER_API_KEY=emulator-partner-key
BRAZE_DATA_IMPORT_KEY=emulator-data-import-key
`;
