import { DuckDBInstance } from "@duckdb/node-api";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { CohoError } from "../../src/model/errors.js";
import type { Project } from "../../src/model/project.js";
import { DuckDbEngine } from "../../src/sources/duckdb-engine.js";
import { extractMembers, withDuplicates, type ExtractedMembers } from "../../src/sources/extract-members.js";
import { diffMembership } from "../../src/plan/membership-diff.js";
import { closeSources, openSources } from "../../src/sources/open-sources.js";
import { sandboxFor } from "../../src/plan/session.js";
import type { Source } from "../../src/sources/source.js";
import { EXAMPLES } from "../helpers/fixtures.js";
import { DESTINATION_YAML, EMULATOR_ENV, createDatabase, loadValid, runSql, writeProject } from "../helpers/project.js";

let open: { engine: DuckDbEngine; sources: Map<string, Source> }[] = [];
afterEach(async () => {
  for (const { engine, sources } of open) {
    await closeSources(sources);
    await engine.close();
  }
  open = [];
});

/** A model's members as plan counts them: extracted, then distinct members and duplicates from the diff (no snapshot). */
async function extract(project: Project, cohortKey: string): Promise<{ result: ExtractedMembers & { members: number }; keys: string[] }> {
  const engine = await DuckDbEngine.create({ projectDir: project.dir, sandbox: sandboxFor(project) });
  const sources = openSources(project, engine);
  open.push({ engine, sources });
  const cohort = project.cohorts.get(cohortKey)!;
  const model = project.models.get(cohort.model)!;
  const extracted = await extractMembers(engine, sources.get(model.source)!, model, project.identifiers.get(cohort.identifier)!);
  const members = (await diffMembership(engine, extracted.keys, undefined)).desiredMembers;
  const result = { ...extracted, members, rejected: withDuplicates(extracted, members) };
  const keys = (await engine.connection.runAndReadAll(`SELECT key FROM ${result.table} ORDER BY key`)).getRows().map((r) => String(r[0]));
  return { result, keys };
}

async function extractError(project: Project, cohortKey: string): Promise<CohoError> {
  const error = await extract(project, cohortKey).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(CohoError);
  return error as CohoError;
}

/** A project with one cohort `c` over model `m` with the given SQL and identifier. */
function project(sql: string, options: { identifier?: string; primaryKey?: string; sources?: string; extraFiles?: Record<string, string>; env?: Record<string, string>; allowPaths?: string[] } = {}) {
  const indented = sql.split("\n").map((l) => `      ${l}`).join("\n");
  const yaml = `version: 1
${options.sources ?? ""}${DESTINATION_YAML}models:
  m:
${options.primaryKey ? `    primary_key: ${options.primaryKey}\n` : ""}    sql: |
${indented}
identifiers:
  user_id: { type: external_id, column: user_id }
  email: { type: alias, column: email, label: email }
  device: { type: device_id, column: device_id }
cohorts:
  c:
    name: C
    destination: braze
    model: m
    identifier: ${options.identifier ?? "user_id"}
`;
  const dir = writeProject({ "coho.yaml": yaml, ...options.extraFiles });
  return loadValid(dir, { ...EMULATOR_ENV, ...options.env }, options.allowPaths);
}

describe("DuckDB sources", () => {
  it("run the quickstart's CSV models relative to the project folder", async () => {
    const quickstart = loadValid(join(EXAMPLES, "quickstart"));
    const { result, keys } = await extract(quickstart, "newsletter_readers");
    expect(result.rows).toBeGreaterThan(0);
    expect(result.members).toBe(result.rows);
    expect(keys.every((k) => /^alias:email:[a-z]+\d+@example\.com$/.test(k))).toBe(true);
  });

  it("read a database file, attached read-only", async () => {
    const dir = writeProject({});
    const instance = await DuckDBInstance.create(join(dir, "warehouse.duckdb"));
    const connection = await instance.connect();
    await connection.run("CREATE TABLE users AS SELECT 'u' || range AS user_id FROM range(250)");
    connection.closeSync();
    instance.closeSync();
    const sibling = "../" + dir.split("/").pop();
    const p = project("select user_id from users", { sources: `sources:\n  wh: { type: duckdb, path: ${sibling}/warehouse.duckdb, allowed_paths: [${sibling}] }\n`, allowPaths: [dir] });
    // The path resolves against the declaring file's folder; a sibling folder must be opted into.
    const { result } = await extract(p, "c");
    expect(result.members).toBe(250);
  });

  it("read Parquet files", async () => {
    const p = project(`select user_id from read_parquet('data/users.parquet')`, { extraFiles: { "data/.keep": "" } });
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    await connection.run(`COPY (SELECT range::BIGINT AS user_id FROM range(1000)) TO '${join(p.dir, "data", "users.parquet")}' (FORMAT parquet)`);
    connection.closeSync();
    instance.closeSync();
    const { result, keys } = await extract(p, "c");
    expect(result.members).toBe(1000);
    expect(keys).toContain("external_id:999");
  });

  it("turn integers into digits and UUIDs into lower-case text", async () => {
    const p = project(
      "select * from (values (42::TINYINT), (170141183460469231731687303715884105727::HUGEINT), (-7::BIGINT)) t(user_id)",
    );
    expect((await extract(p, "c")).keys).toEqual(["external_id:-7", "external_id:170141183460469231731687303715884105727", "external_id:42"]);
    const u = project("select 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::UUID as device_id", { identifier: "device" });
    expect((await extract(u, "c")).keys).toEqual(["device_id:a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]);
  });

  it("reject bad identifier values with a reason and a count each, keeping duplicates once", async () => {
    const p = project(
      `select * from (values ('ok1'), ('ok2'), ('ok2'), ('ok2'), (NULL), (''), ('   '), (e'tab\\tinside'), (repeat('x', 513)), (repeat('y', 512)), (' padded ')) t(email)`,
      { identifier: "email" },
    );
    const { result, keys } = await extract(p, "c");
    expect(result.rows).toBe(11);
    expect(result.rejected).toEqual({ null: 1, empty: 2, control_characters: 1, too_long: 1, duplicate: 2 });
    expect(keys).toEqual(["alias:email: padded ", "alias:email:ok1", "alias:email:ok2", `alias:email:${"y".repeat(512)}`]);
    expect(result.members).toBe(4);
  });

  it("count values of only Unicode White_Space (NBSP, U+3000, NEL…) as empty, and keep look-alikes", async () => {
    const p = project(
      "select * from (values (chr(160)), (chr(12288)), (' ' || chr(8195) || chr(133) || chr(8232)), ('a' || chr(160) || 'b'), (chr(8203)), (chr(65279))) t(user_id)",
    );
    const { result, keys } = await extract(p, "c");
    expect(result.rejected.empty).toBe(3);
    expect(keys).toEqual(["external_id:a\u00a0b", "external_id:\u200b", "external_id:\ufeff"].sort());
  });

  it("refuse a primary key that is not unique, naming the model and a key", async () => {
    const p = project("select * from (values ('a', 'u1'), ('b', 'u2'), ('b', 'u3')) t(order_id, user_id)", { primaryKey: "order_id" });
    const error = await extractError(p, "c");
    expect(error.message).toBe('model m: primary_key `order_id` is not unique: "b" appears 2 times');
  });

  it("locate SQL errors in the YAML block that holds the SQL", async () => {
    const p = project("select user_id\nfrom (values (1)) t(user_id)\nwhere nope > 1");
    const error = await extractError(p, "c");
    expect(error.code).toBe("source.sql_error");
    expect(error.message).toContain("model m: the database refused its SQL");
    expect(error.message).toContain('Referenced column "nope" not found');
    // The block's first SQL line is line 12 of coho.yaml, indented 6: `nope` is SQL 3:7.
    expect(error.location).toEqual({ file: join(p.dir, "coho.yaml"), line: 14, column: 13 });
  });

  it("locate SQL errors inside a model's .sql file", async () => {
    const dir = writeProject({
      "coho.yaml": `version: 1\n${DESTINATION_YAML}models:\n  m:\n    file: models/m.sql\nidentifiers:\n  user_id: { type: external_id, column: user_id }\ncohorts:\n  c: { name: C, destination: braze, model: m, identifier: user_id }\n`,
      "models/m.sql": "select user_id\nfrom (values (1)) t(user_id)\nwhere missing_column = 2\n",
    });
    const error = await extractError(loadValid(dir, EMULATOR_ENV), "c");
    expect(error.location).toEqual({ file: join(dir, "models", "m.sql"), line: 3, column: 7 });
    expect(error.message).toContain('Referenced column "missing_column" not found');
  });

  it("name the columns that exist when the identifier column is missing", async () => {
    const error = await extractError(project("select 1 as id, 'x' as mail"), "c");
    expect(error.message).toBe("model m has no column `user_id` (needed by identifier `user_id`); its columns are: id, mail");
  });

  it("refuse identifier columns of other types, saying how to cast", async () => {
    const error = await extractError(project("select 1.5::DOUBLE as user_id"), "c");
    expect(error.message).toBe("model m: column `user_id` (needed by identifier `user_id`) is DOUBLE; identifiers must be text, integer or UUID columns");
    expect(error.hint).toContain("CAST(user_id AS VARCHAR)");
  });

  it("stream rows in bounded batches", async () => {
    const p = project("select range as user_id from range(25000)");
    const engine = await DuckDbEngine.create({ projectDir: p.dir });
    const sources = openSources(p, engine);
    open.push({ engine, sources });
    const sizes: number[] = [];
    for await (const batch of sources.get("duckdb")!.stream(p.models.get("m")!, 10_000)) {
      expect(batch.columns).toEqual(["user_id"]);
      sizes.push(batch.rows.length);
    }
    expect(sizes).toEqual([10_000, 10_000, 5000]);
  });
});

describe("PostgreSQL sources", () => {
  let url: string;
  beforeAll(async () => {
    url = await createDatabase(inject("pgUrl"), "sources");
    await runSql(
      url,
      `CREATE TABLE people (user_id bigint, email text, device_id uuid, score double precision);
       INSERT INTO people VALUES
         (1, 'ok1', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 1.5),
         (2, 'ok2', NULL, 1), (3, 'ok2', NULL, 1), (4, NULL, NULL, 1), (5, '', NULL, 1), (6, '   ', NULL, 1),
         (7, E'tab\\tinside', NULL, 1), (8, repeat('x', 513), NULL, 1), (9, ' padded ', NULL, 1),
         (9223372036854775807, 'big', NULL, 1);
       INSERT INTO people SELECT 100 + g, 'bulk' || g, NULL, 0 FROM generate_series(1, 23456) g;`,
    );
  });
  const pgProject = (sql: string, options: { identifier?: string; primaryKey?: string; pgUrl?: string } = {}) =>
    project(sql, { ...options, sources: "sources:\n  pg:\n    type: postgres\n    url: ${env:PG_URL}\n", env: { PG_URL: options.pgUrl ?? url } });

  it("give the same members and rejections as DuckDB on the same values", async () => {
    const viaPg = await extract(pgProject("select email from people", { identifier: "email" }), "c");
    const duck = project(
      `select * from (values ('ok1'), ('ok2'), ('ok2'), (NULL), (''), ('   '), (e'tab\\tinside'), (repeat('x', 513)), (' padded '), ('big')) t(email)
       union all select 'bulk' || range from range(1, 23457)`,
      { identifier: "email" },
    );
    const viaDuck = await extract(duck, "c");
    expect(viaPg.keys).toEqual(viaDuck.keys);
    expect(viaPg.result.rejected).toEqual(viaDuck.result.rejected);
    expect(viaPg.result.rejected).toEqual({ null: 1, empty: 2, control_characters: 1, too_long: 1, duplicate: 1 });
  });

  it("turn bigint and uuid columns into the same text as DuckDB", async () => {
    const ids = await extract(pgProject("select user_id from people where user_id < 10 or user_id > 1000000"), "c");
    expect(ids.keys).toContain("external_id:9223372036854775807");
    expect(ids.keys).toContain("external_id:1");
    const devices = await extract(pgProject("select device_id from people where device_id is not null", { identifier: "device" }), "c");
    expect(devices.keys).toEqual(["device_id:a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]);
  });

  it("locate SQL errors by the server's position", async () => {
    const p = pgProject("select user_id\nfrom people\nwhere nope = 1");
    const error = await extractError(p, "c");
    expect(error.message).toContain('column "nope" does not exist');
    // Four source lines push the block's first SQL line to 16; `nope` is SQL 3:7.
    expect(error.location).toMatchObject({ line: 18, column: 13 });
  });

  it("refuse a double precision identifier column and a non-unique primary key", async () => {
    const typed = await extractError(pgProject("select score as user_id from people"), "c");
    expect(typed.message).toContain("is double precision; identifiers must be text, integer or UUID columns");
    // A NULL key is named as a NULL (checked first); among the others, a repeated one as not unique.
    const nullKey = await extractError(pgProject("select email as order_id, user_id from people", { primaryKey: "order_id" }), "c");
    expect(nullKey.message).toBe("model m: primary_key `order_id` is NULL in 1 row; a primary key must identify every row");
    const pk = await extractError(pgProject("select email as order_id, user_id from people where email is not null", { primaryKey: "order_id" }), "c");
    expect(pk.message).toBe('model m: primary_key `order_id` is not unique: "ok2" appears 2 times');
  });

  it("stream through a cursor in bounded batches", async () => {
    const p = pgProject("select user_id from people order by user_id");
    const engine = await DuckDbEngine.create({ projectDir: p.dir });
    const sources = openSources(p, engine);
    open.push({ engine, sources });
    let rows = 0;
    for await (const batch of sources.get("pg")!.stream(p.models.get("m")!, 5000)) {
      expect(batch.rows.length).toBeLessThanOrEqual(5000);
      expect(batch.columns).toEqual(["user_id"]);
      rows += batch.rows.length;
    }
    expect(rows).toBe(10 + 23456);
  });

  it("let go of every page once it is consumed, while the cursor's connection stays open", async () => {
    // Bounded paging means the source keeps no page it has handed out: with a small
    // page size a model spans dozens of pages, each of which must become garbage.
    // (Racing each read against one long-lived "connection lost" promise kept all of
    // them reachable: a 10M-row model then held every row in the heap.)
    const p = pgProject("select user_id from people order by user_id");
    const engine = await DuckDbEngine.create({ projectDir: p.dir });
    const sources = openSources(p, engine);
    open.push({ engine, sources });
    const pages: WeakRef<object>[] = [];
    const seen: string[] = [];
    for await (const batch of sources.get("pg")!.stream(p.models.get("m")!, 1000)) {
      expect(batch.rows.length).toBeLessThanOrEqual(1000);
      pages.push(new WeakRef(batch.rows));
      for (const row of batch.rows) seen.push(String(row[0]));
    }
    expect(pages.length).toBe(24);
    expect(seen).toEqual(["1", ...Array.from({ length: 8 }, (_, i) => String(i + 2)), ...Array.from({ length: 23456 }, (_, i) => String(101 + i)), "9223372036854775807"]);
    // A later task, so WeakRefs made or read in this one may be cleared; the source stays open.
    await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
    // pg-cursor may still hold the last page on its result object; every earlier one must be gone.
    const kept = pages.map((page, i) => (page.deref() === undefined ? -1 : i)).filter((i) => i >= 0 && i < pages.length - 1);
    expect(kept).toEqual([]);
  });

  it("leave the connection usable when the consumer stops while the next page is being read", async () => {
    const p = pgProject("select user_id from people order by user_id");
    const engine = await DuckDbEngine.create({ projectDir: p.dir });
    const sources = openSources(p, engine);
    open.push({ engine, sources });
    const source = sources.get("pg")!;
    for await (const batch of source.stream(p.models.get("m")!, 1000)) {
      expect(batch.rows.map((row) => String(row[0]))).toEqual(["1", ...Array.from({ length: 8 }, (_, i) => String(i + 2)), ...Array.from({ length: 991 }, (_, i) => String(101 + i))]);
      break;
    }
    let rows = 0;
    for await (const batch of source.stream(p.models.get("m")!, 1000)) rows += batch.rows.length;
    expect(rows).toBe(10 + 23456);
  });

  it("pull a model spanning several pages into the same members with and without a primary key", async () => {
    const plain = await extract(pgProject("select user_id, email from people", { identifier: "email" }), "c");
    const keyed = await extract(pgProject("select user_id, email from people", { identifier: "email", primaryKey: "user_id" }), "c");
    expect(plain.result.rows).toBe(10 + 23456);
    expect(plain.result.members).toBe(23456 + 4);
    expect(plain.keys).toHaveLength(23456 + 4);
    expect(plain.keys.slice(0, 2)).toEqual(["alias:email: padded ", "alias:email:big"]);
    expect(keyed.keys).toEqual(plain.keys);
    expect(keyed.result.rows).toBe(plain.result.rows);
    expect(keyed.result.rejected).toEqual({ null: 1, empty: 2, control_characters: 1, too_long: 1, duplicate: 1 });
    expect(plain.result.rejected).toEqual(keyed.result.rejected);
  });

  it("run examples/postgres on its seed data", async () => {
    const exampleUrl = await createDatabase(inject("pgUrl"), "example");
    await runSql(exampleUrl, readFileSync(join(EXAMPLES, "postgres", "seed.sql"), "utf8"));
    const example = loadValid(join(EXAMPLES, "postgres"), { WAREHOUSE_URL: exampleUrl });
    const { result, keys } = await extract(example, "lapsed_pro");
    // Pro users (g % 3 = 0) last seen before November: 1 Sept + (g % 90) days < 1 Nov.
    const expected = Array.from({ length: 5000 }, (_, i) => i + 1).filter((g) => g % 3 === 0 && g % 90 < 61);
    expect(result.members).toBe(expected.length);
    expect(keys).toEqual(expected.map((g) => `external_id:${g}`).sort());
  });

  it("say which server is unreachable, never the password, and which variable to check", async () => {
    const secret = "pw-should-never-show-9137";
    const p = pgProject("select user_id from people", { pgUrl: `postgres://coho:${secret}@127.0.0.1:1/warehouse` });
    const error = await extractError(p, "c");
    expect(error.code).toBe("source.postgres_unreachable");
    expect(error.message).toContain("cannot connect to PostgreSQL at 127.0.0.1:1/warehouse");
    expect(error.hint).toContain("environment variable PG_URL");
    expect(JSON.stringify({ m: error.message, h: error.hint, s: error.stack })).not.toContain(secret);
  });
});

/** A full, synchronous garbage collection (V8's own gc(), exposed for this call). */
function collectGarbage(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}
