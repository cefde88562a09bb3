/**
 * What `coho init --source TYPE` writes for each kind of source: the `sources:`
 * entry, the model's SQL and any sample data. Each template validates as
 * written (variables it names get a local value in .env); a new source type
 * adds its entry here and becomes a choice of `coho init`.
 */
export interface SourceTemplate {
  /** One line for `coho init --help` and the interactive question. */
  readonly summary: string;
  /** The `warehouse:` entry under `sources:`, indented two spaces. */
  readonly sourceYaml: string;
  /** The model's SQL (models/active_users.sql). */
  readonly modelSql: string;
  /** Files besides the model, e.g. sample data. */
  readonly files: readonly { readonly path: string; readonly content: string }[];
  /** Variables the entry reads: for .env.example and (local value) .env. */
  readonly variables: readonly ScaffoldVariable[];
}

export interface ScaffoldVariable {
  readonly name: string;
  /** What to put in .env.example after `NAME=`: empty for secrets. */
  readonly example: string;
  /** The value `coho init` writes into the git-ignored .env so the project validates and runs locally. */
  readonly local: string;
  readonly comment: string;
}

export const SOURCE_TEMPLATES = {
  duckdb: {
    summary: "embedded DuckDB reading files in the project (CSV, Parquet, DuckDB): nothing to install",
    sourceYaml: `  warehouse:
    type: duckdb              # embedded; add \`path: warehouse.duckdb\` for a database file
`,
    modelSql: `-- Rows of this query are the cohort's members; user_id is the Braze external_id.
select user_id
from read_csv('data/users.csv')
where active
`,
    files: [{ path: "data/users.csv", content: "user_id,active\nu001,true\nu002,true\nu003,false\n" }],
    variables: [],
  },
  postgres: {
    summary: "a PostgreSQL database (the URL in WAREHOUSE_URL)",
    sourceYaml: `  warehouse:
    type: postgres
    url: \${env:WAREHOUSE_URL}    # a secret when it holds a password: set it in the environment or .env
    statement_timeout: 15m
`,
    modelSql: `-- Rows of this query are the cohort's members; user_id is the Braze external_id.
-- It runs in the warehouse: point it at your own table.
select user_id::text as user_id
from users
where active
`,
    files: [],
    variables: [
      {
        name: "WAREHOUSE_URL",
        example: "postgres://coho_reader@db.example.com:5432/warehouse?sslmode=verify-full",
        local: "postgres://postgres@127.0.0.1:5432/postgres",
        comment: "The warehouse coho reads models from (a role with read access to the tables only).",
      },
    ],
  },
} as const satisfies Record<string, SourceTemplate>;

export type SourceChoice = keyof typeof SOURCE_TEMPLATES;
export const SOURCE_CHOICES = Object.keys(SOURCE_TEMPLATES) as SourceChoice[];
