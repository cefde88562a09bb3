import { writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apply, plan } from "../../src/index.js";
import { REDSHIFT_DIALECT, redshiftSnapshotDdl } from "../../src/sources/redshift/dialect.js";
import { standInSnapshotDdl } from "../../src/sources/redshift/redshift-source.js";
import { SECRET_ENV } from "../helpers/apply-project.js";
import { emulators } from "../helpers/emulator.js";
import { destinationEntry, runSql, writeProject } from "../helpers/project.js";
import { redshiftStandIn } from "../helpers/redshift-stand-in.js";

const start = emulators();

/**
 * What Amazon Redshift refuses, from AWS's Database Developer Guide, "Amazon Redshift
 * and PostgreSQL": "Unsupported PostgreSQL features"
 * (docs.aws.amazon.com/redshift/latest/dg/c_unsupported-postgresql-features.html:
 * indexes, collations, row and array constructors, table functions, VALUES lists
 * used as constant tables, sequences, …), "Unsupported PostgreSQL functions"
 * (…/c_unsupported-postgresql-functions.html: array functions and operators,
 * advisory locks, set-returning functions such as GENERATE_SERIES, STRING_AGG,
 * ARRAY_AGG, IS DISTINCT FROM, ROLLBACK TO SAVEPOINT, sequence functions, string
 * functions such as BIT_LENGTH, OVERLAY, CONVERT, ENCODE, FORMAT, REGEXP_MATCHES …)
 * and "Unsupported PostgreSQL data types" (…/c_unsupported-postgresql-datatypes.html:
 * arrays, BIT, BIT VARYING, BYTEA, JSON, SERIAL, UUID, …); plus what the Redshift
 * path must avoid by design: TEXT (Redshift maps it to VARCHAR(256); coho uses
 * VARCHAR(65535), lengths in bytes), EXCEPT ALL / INTERSECT ALL, CONCAT with more than
 * two arguments, TRUNCATE (it commits the open transaction), PostgreSQL's `::` casts,
 * MATERIALIZED CTEs, ON CONFLICT, E'' strings and PostgreSQL-only settings.
 */
const REFUSED: readonly (readonly [string, RegExp])[] = [
  ["EXCEPT ALL / INTERSECT ALL", /\b(EXCEPT|INTERSECT)\s+ALL\b/i],
  ["the TEXT type", /\bTEXT\b/i],
  ["an index", /\bCREATE\s+(UNIQUE\s+)?INDEX\b/i],
  ["a sequence or serial", /\b(SEQUENCE|SERIAL|BIGSERIAL|SMALLSERIAL|NEXTVAL|CURRVAL|SETVAL)\b/i],
  ["a row constructor", /\bROW\s*\(|\(\s*[\w."]+\s*,\s*[\w."]+[^()]*\)\s*(=|<>|IN\b)/i],
  ["a table function", /\b(UNNEST|GENERATE_SERIES|GENERATE_SUBSCRIPTS|REGEXP_SPLIT_TO_TABLE|JSONB?_TO_RECORDSET|JSONB?_ARRAY_ELEMENTS)\s*\(/i],
  ["VALUES as a table", /\(\s*VALUES\b/i],
  ["an array", /\bARRAY\s*[[(]|\[\]|\bANY\s*\(|\bALL\s*\(\s*\$/i],
  ["an unsupported type", /\b(BYTEA|JSONB?|UUID|HSTORE|MONEY|TSVECTOR|TSQUERY|INET|CIDR|TXID_SNAPSHOT)\b|\bBIT\s*(\(|VARYING)/i],
  ["a PostgreSQL cast", /::/],
  ["a COLLATE clause", /\bCOLLATE\s+"/i],
  ["a MATERIALIZED CTE", /\bAS\s+(NOT\s+)?MATERIALIZED\b/i],
  ["TRUNCATE", /\bTRUNCATE\b/i],
  ["ON CONFLICT", /\bON\s+CONFLICT\b/i],
  ["a savepoint", /\bSAVEPOINT\b/i],
  ["an E'' string", /\bE'/],
  ["IS DISTINCT FROM", /\bIS\s+(NOT\s+)?DISTINCT\s+FROM\b/i],
  [
    "an unsupported function",
    /\b(HASHTEXTEXTENDED|HASHTEXT|STRING_AGG|ARRAY_AGG|EVERY|XMLAGG|PG_ADVISORY_\w+|PG_TRY_ADVISORY_\w+|PG_SLEEP|CLOCK_TIMESTAMP|TRANSACTION_TIMESTAMP|BIT_LENGTH|OVERLAY|CONVERT|CONVERT_FROM|CONVERT_TO|ENCODE|DECODE|FORMAT|QUOTE_NULLABLE|REGEXP_MATCHES|REGEXP_SPLIT_TO_ARRAY|TO_JSONB?|JSONB?_BUILD_\w+|WIDTH_BUCKET|SETSEED|DIV)\s*\(/i,
  ],
  ["a PostgreSQL-only setting", /\bSET\s+(work_mem|max_parallel_workers_per_gather|statement_timeout|search_path)\b/i],
];

/** Each refusal a statement makes, ignoring what is inside string literals (rejection names, patterns). */
function refusals(statement: string): string[] {
  const code = statement.replace(/'(?:[^']|'')*'/g, "''");
  const found = REFUSED.filter(([, pattern]) => pattern.test(code)).map(([name]) => name);
  for (const match of code.matchAll(/\bCONCAT\s*\(/gi)) {
    let depth = 0;
    let commas = 0;
    for (let i = match.index! + match[0].length; i < code.length; i++) {
      const c = code[i];
      if (c === "(") depth++;
      else if (c === ")" && depth-- === 0) break;
      else if (c === "," && depth === 0) commas++;
    }
    if (commas > 1) found.push("CONCAT with more than two arguments");
  }
  return found;
}

/** Every statement any pg client of this process sends (plain queries and cursors alike). */
const recorded: string[] = [];
const originalQuery = pg.Client.prototype.query;
beforeAll(() => {
  pg.Client.prototype.query = function (this: pg.Client, config: unknown, ...rest: unknown[]) {
    const text = typeof config === "string" ? config : (config as { text?: string } | null)?.text;
    if (typeof text === "string") recorded.push(text);
    return (originalQuery as (...args: unknown[]) => unknown).call(this, config, ...rest);
  } as typeof pg.Client.prototype.query;
});
afterAll(() => {
  pg.Client.prototype.query = originalQuery;
});

describe("the Redshift path", () => {
  it("sends Redshift nothing it refuses, through plan, apply, a churned plan and apply, a primary-key model and a deleted cohort", async () => {
    const url = await redshiftStandIn("redshift_statements");
    await runSql(url, `CREATE TABLE people (id varchar(64), email varchar(256));
      INSERT INTO people VALUES ('1', 'a@x.io'), ('2', 'b@x.io'), ('3', NULL), ('4', ' '), ('5', 'c@x.io')`);
    const emu = await start();
    const cohorts = (both: boolean) => `cohorts:
  by_email: { name: By email, destination: braze, model: emails, identifier: email, guards: { max_removals: 100%, allow_empty: true } }
${both ? "  by_id: { name: By id, destination: braze, model: ids, identifier: id, guards: { max_removals: 100%, allow_empty: true } }\n" : ""}`;
    const yaml = (both: boolean) => `version: 1
state:
  backend: local
  snapshots: { source: wh, schema: coho_state }
sources:
  wh: { type: redshift, url: "\${env:REDSHIFT_URL}" }
destinations:
${destinationEntry("braze", emu.url)}models:
  emails: { source: wh, sql: "select email from people" }
  ids: { source: wh, primary_key: id, sql: "select id from people" }
identifiers:
  email: { type: alias, column: email, label: email }
  id: { type: external_id, column: id }
${cohorts(both)}`;
    const dir = writeProject({ "coho.yaml": yaml(true) });
    const env = { ...process.env, ...SECRET_ENV, REDSHIFT_URL: url };

    recorded.length = 0;
    await plan(dir, { env });
    expect((await apply(dir, { env, autoApprove: true })).outcome).toBe("applied");
    await runSql(url, "DELETE FROM people WHERE id = '2'; INSERT INTO people VALUES ('6', 'd@x.io')");
    const churned = await plan(dir, { env });
    expect(churned.cohorts.map((c) => [c.address, c.members])).toEqual([
      ["cohorts.by_email", { before: 3, after: 3, add: 1, remove: 1 }],
      ["cohorts.by_id", { before: 5, after: 5, add: 1, remove: 1 }],
    ]);
    expect((await apply(dir, { env, autoApprove: true })).outcome).toBe("applied");
    // Up to here no recorded snapshot was read out of the warehouse: plans ran inside it and
    // folds built new snapshots there. (Deleting a cohort below reads its members: every one is a removal.)
    const keyReads = (statements: readonly string[]) => statements.filter((s) => /^SELECT key FROM "coho_state"\.snapshot_keys WHERE snapshot = \$1$/.test(s.trim()));
    expect(keyReads(recorded)).toEqual([]);
    writeFileSync(join(dir, "coho.yaml"), yaml(false));
    expect((await apply(dir, { env, autoApprove: true })).outcome).toBe("applied");
    const settled = await plan(dir, { env });
    expect(settled.cohorts.map((c) => c.actions)).toEqual([["no-op"]]);

    // The plans ran inside the warehouse.
    const diffs = recorded.filter((s) => s.startsWith("WITH coho_groups AS"));
    expect(diffs.some((s) => s.includes("select email from people"))).toBe(true);
    expect(diffs.some((s) => s.includes("FROM (SELECT v FROM coho_rows)"))).toBe(true);
    expect(recorded.some((s) => s.startsWith("INSERT INTO coho_folded"))).toBe(true);

    // The stand-in got the equivalent of Redshift's DDL, and only that differs.
    const standIn = new Set(standInSnapshotDdl("coho_state"));
    expect(recorded.filter((s) => standIn.has(s))).toEqual(expect.arrayContaining([...standIn]));
    const offences = recorded
      .filter((s) => !standIn.has(s))
      .flatMap((s) => refusals(s).map((why) => `${why}: ${s.replace(/\s+/g, " ").slice(0, 160)}`));
    expect(offences).toEqual([]);
  }, 120_000);

  it("writes snapshot tables with DISTKEY and SORTKEY in Redshift's DDL, which itself avoids everything Redshift refuses", () => {
    const ddl = redshiftSnapshotDdl("coho_state");
    expect(ddl.join("\n")).toMatch(/snapshot_keys .*DISTKEY \(key\) SORTKEY \(snapshot\)/);
    expect(ddl.join("\n")).toMatch(/snapshot_checks .*DISTSTYLE ALL/);
    expect(ddl.flatMap(refusals)).toEqual([]);
    // The refusal list itself catches what PostgreSQL's dialect would send.
    expect(refusals('SELECT key COLLATE "C", NULL::text FROM t')).toEqual(expect.arrayContaining(["a COLLATE clause", "the TEXT type", "a PostgreSQL cast"]));
    expect(refusals("SELECT CONCAT(a, b, c) FROM t WHERE x = ANY($1::text[])")).toEqual(expect.arrayContaining(["CONCAT with more than two arguments", "an array"]));
    expect(refusals(REDSHIFT_DIALECT.diffSql("SELECT v FROM coho_rows", '"coho_state".snapshot_keys'))).toEqual([]);
  });
});
