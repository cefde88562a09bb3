import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadProject } from "../../src/config/load-project.js";
import type { Diagnostic } from "../../src/model/diagnostic.js";
import { MANIFEST_VERSIONS, dbtHeader, dbtProject, writeManifest } from "../helpers/dbt-project.js";
import { loadValid } from "../helpers/project.js";

const models = (body: string) => `${dbtHeader()}models:\n${body}`;

/** The one error of an invalid project, with its position. */
function onlyError(dir: string, env: Record<string, string> = {}): Diagnostic & { where: string } {
  const result = loadProject(dir, { env });
  expect(result.project).toBeUndefined();
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  expect(errors, JSON.stringify(errors, null, 2)).toHaveLength(1);
  const error = errors[0]!;
  const where = error.location ? `${error.location.file.slice(dir.length + 1)}:${error.location.line}:${error.location.column}` : "";
  return { ...error, where };
}

describe.each(MANIFEST_VERSIONS)("a dbt manifest of schema v%i", (version) => {
  const manifest = `manifest-v${version}.json`;

  it("resolves `dbt:` models to the relation dbt built, by name or package.name", () => {
    const dir = dbtProject(models(`  vip: { dbt: users_vip }\n  customers: { dbt: customers }\n  engaged: { dbt: marketing.engaged_users }\n`), manifest);
    const project = loadValid(dir);
    const vip = project.models.get("vip")!;
    // DuckDB sources are the file dbt built: schema.name inside the source's catalog.
    expect(vip.sql).toBe('select * from "main"."users_vip"');
    expect(vip.source).toBe("warehouse");
    expect(vip.dbt?.model).toMatchObject({ uniqueId: "model.shop.users_vip", packageName: "shop", relation: '"main"."users_vip"' });
    expect(vip.dbt?.model?.checksum).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(vip.dbt?.model?.compiledCode).toContain("lifetime_value >= 1000");
    // A model and a source share the name `customers`: `dbt:` means the model (schema main), never the source (raw).
    const customers = project.models.get("customers")!;
    expect(customers.sql).toBe('select * from "main"."customers"');
    expect(customers.dbt?.model?.uniqueId).toBe("model.shop.customers");
    expect(customers.dbt?.model?.compiledCode).toBeUndefined();
    expect(project.models.get("engaged")!.sql).toBe('select * from "marketing"."engaged_users"');
    expect(project.dbt).toMatchObject({ source: "warehouse", projectName: "shop" });
  });

  it("replaces ref() and source() in SQL with quoted relations, and records what the model reads", () => {
    const sql = `    sql: |\n      select n.user_id from {{ ref('newsletter') }} n\n      join {{ source("app", "customers") }} c using (user_id)\n      join {{ref('crm','engaged_users')}} e using (user_id)\n`;
    const project = loadValid(dbtProject(models(`  lapsed:\n${sql}`), manifest));
    const model = project.models.get("lapsed")!;
    expect(model.sql).toBe('select n.user_id from "marketing"."newsletter" n\njoin "raw"."customers" c using (user_id)\njoin "crm"."engaged_users" e using (user_id)\n');
    expect(model.dbt?.model).toBeUndefined();
    expect(model.dbt?.dependsOn.map((d) => d.uniqueId)).toEqual(["model.marketing.newsletter", "source.shop.app.customers", "model.crm.engaged_users"]);
  });

  it.each([
    ["users_vipp", "dbt.model_not_found", "no dbt model `users_vipp` in the manifest; did you mean `users_vip`?"],
    ["engaged_users", "dbt.model_ambiguous", "dbt model `engaged_users` is defined in several packages (`crm.engaged_users`, `marketing.engaged_users`); name one as package.model"],
    ["churned_users", "dbt.model_disabled", "dbt model `churned_users` (model.shop.churned_users) is disabled in dbt"],
    ["stg_events", "dbt.model_ephemeral", "dbt model `stg_events` (model.shop.stg_events) is ephemeral"],
    ["nowhere.users_vip", "dbt.model_not_found", "no dbt model `nowhere.users_vip` in the manifest"],
  ])("`dbt: %s` is refused at its line: %s", (name, code, message) => {
    const dir = dbtProject(models(`  audience:\n    primary_key: user_id\n    dbt: ${name}\n`), manifest);
    const error = onlyError(dir);
    expect(error.code).toBe(code);
    expect(error.message).toContain(`models.audience.dbt: ${message}`);
    expect(error.where).toBe("coho.yaml:10:10");
  });

  it("refuses an unknown ref() inside SQL at its position in a .sql file", () => {
    const dir = dbtProject(models(`  lapsed: { file: models/lapsed.sql }\n`), manifest, {
      "models/lapsed.sql": "select user_id\nfrom {{ ref('newsleter') }}\n",
    });
    const error = onlyError(dir);
    expect(error.code).toBe("dbt.model_not_found");
    expect(error.message).toContain("did you mean `newsletter`?");
    expect(error.where).toBe("models/lapsed.sql:2:6");
  });
});

describe("dbt manifest problems, located at the setting", () => {
  const vip = models("  vip: { dbt: users_vip }\n");

  it("a missing manifest names the path and how to produce it", () => {
    const error = onlyError(dbtProject(vip, null));
    expect(error).toMatchObject({ code: "dbt.manifest_missing", where: "coho.yaml:3:13" });
    expect(error.message).toContain("dbt manifest not found: target/manifest.json; run `dbt compile`");
  });

  it("a manifest that is not JSON is located inside the manifest file", () => {
    const dir = dbtProject(vip, null);
    mkdirSync(join(dir, "target"));
    writeFileSync(join(dir, "target", "manifest.json"), '{\n  "metadata": {\n    "dbt_version": "1.9.4",\n  }\n}\n');
    const error = onlyError(dir);
    expect(error.code).toBe("dbt.manifest_invalid");
    expect(error.message).toContain("dbt manifest target/manifest.json is not JSON");
    expect(error.where).toBe("target/manifest.json:4:3");
  });

  it.each([
    ["https://schemas.getdbt.com/dbt/manifest/v9.json", "1.5.11", "has schema version https://schemas.getdbt.com/dbt/manifest/v9.json (dbt 1.5.11); coho reads dbt 1.6–1.11 (manifest v10–v12)"],
    ["https://schemas.getdbt.com/dbt/manifest/v13.json", "2.0.0", "has schema version https://schemas.getdbt.com/dbt/manifest/v13.json (dbt 2.0.0)"],
    [undefined, "1.9.4", "has no metadata.dbt_schema_version (dbt 1.9.4)"],
  ])("an unsupported schema version (%s) is named", (schemaVersion, dbtVersion, message) => {
    const dir = dbtProject(vip, null);
    writeManifest(dir, (m) => {
      m.metadata.dbt_schema_version = schemaVersion;
      m.metadata.dbt_version = dbtVersion;
    });
    const error = onlyError(dir);
    expect(error).toMatchObject({ code: "dbt.manifest_version", where: "coho.yaml:3:13" });
    expect(error.message).toContain(message);
  });

  it("COHO_DBT_MANIFEST overrides the path, and its problems say so", () => {
    const dir = dbtProject(vip, "manifest-v11.json");
    expect(loadValid(dir, { COHO_DBT_MANIFEST: "target/manifest.json" }).models.get("vip")!.dbt?.model?.uniqueId).toBe("model.shop.users_vip");
    const error = onlyError(dir, { COHO_DBT_MANIFEST: "build/manifest.json" });
    expect(error.message).toBe("dbt manifest not found: build/manifest.json (from COHO_DBT_MANIFEST); run `dbt compile` (or dbt run/build) to write it, or fix the path");
  });

  it("a manifest outside the project needs allow_outside_project", () => {
    const dir = dbtProject(vip, "manifest-v12.json");
    const outside = `${dir}/../${dir.split("/").pop()}-dbt`;
    mkdirSync(join(outside, "target"), { recursive: true });
    writeFileSync(join(outside, "target", "manifest.json"), "{}");
    const env = { COHO_DBT_MANIFEST: join(dir, "target", "manifest.json").replace(dir, outside) };
    expect(onlyError(dir, env)).toMatchObject({ code: "dbt.manifest_outside_project", where: "coho.yaml:3:13" });
    const allowed = dbtProject(`${dbtHeader("  allow_outside_project: true\n").replace("source: warehouse\n", "source: warehouse\n")}models:\n  vip: { dbt: users_vip }\n`, "manifest-v12.json");
    writeManifest(outside, () => undefined);
    expect(loadValid(allowed, { COHO_DBT_MANIFEST: join(outside, "target", "manifest.json") }).models.get("vip")!.sql).toBe('select * from "main"."users_vip"');
  });
});

describe("templates in SQL without a Jinja engine", () => {
  it.each([
    ["{{ var('min_value') }}", "dbt.not_jinja", "`{{ var('min_value') }}`: coho is not a Jinja engine"],
    ["{% set x = 1 %}1", "dbt.not_jinja", "`{% set x = 1 %}`: coho is not a Jinja engine"],
    ["{# note #}1", "dbt.not_jinja", "`{# note #}`: coho is not a Jinja engine"],
    ["{{ source('customers') }}", "dbt.not_jinja", "source() takes two arguments"],
  ])("%s is a located error", (template, code, message) => {
    const dir = dbtProject(models(`  m:\n    sql: |\n      select user_id\n      from x where v > ${template}\n`));
    const error = onlyError(dir);
    expect(error.code).toBe(code);
    expect(error.message).toContain(message);
    expect(error.where).toBe("coho.yaml:11:24");
  });

  it("ref() without a `dbt:` setting asks for one; so does a `dbt:` model", () => {
    const plain = dbtProject("version: 1\nmodels:\n  m:\n    sql: select * from {{ ref('users_vip') }}\n", null);
    expect(onlyError(plain)).toMatchObject({ code: "dbt.no_manifest", where: "coho.yaml:4:24" });
    const dbtModel = dbtProject("version: 1\nmodels:\n  m:\n    dbt: users_vip\n", null);
    expect(onlyError(dbtModel)).toMatchObject({ code: "dbt.no_manifest", where: "coho.yaml:4:10" });
  });

  it("the `dbt:` setting belongs to coho.yaml only", () => {
    const dir = dbtProject(`${dbtHeader()}include: [more.yaml]\n`, "manifest-v12.json", { "more.yaml": "dbt:\n  manifest: target/manifest.json\n" });
    expect(onlyError(dir)).toMatchObject({ code: "config.include_section", where: "more.yaml:1:1" });
  });

  it("dbt.source must name a declared source", () => {
    const dir = dbtProject(dbtHeader().replace("source: warehouse", "source: warehous"));
    const error = onlyError(dir);
    expect(error).toMatchObject({ code: "config.unknown_reference", where: "coho.yaml:4:11" });
    expect(error.message).toContain("did you mean `warehouse`?");
  });
});

describe("the manifest fixtures follow dbt's published schemas", () => {
  // Top-level keys each schema version requires (schemas.getdbt.com/dbt/manifest/vN.json);
  // every version also declares disabled, parent_map, child_map and group_map.
  const base = ["metadata", "nodes", "sources", "macros", "docs", "exposures", "metrics", "groups", "selectors", "disabled", "parent_map", "child_map", "group_map", "semantic_models"];
  const topLevel: Record<number, string[]> = { 10: base, 11: [...base, "saved_queries"], 12: [...base, "saved_queries", "unit_tests"] };
  // Required by ModelNode and SourceDefinition in v10–v12.
  const modelRequired = ["database", "schema", "name", "resource_type", "package_name", "path", "original_file_path", "unique_id", "fqn", "alias", "checksum"];
  const sourceRequired = ["database", "schema", "name", "resource_type", "package_name", "path", "original_file_path", "unique_id", "fqn", "source_name", "source_description", "loader", "identifier"];

  it.each(MANIFEST_VERSIONS)("v%i: top-level keys, metadata, model and source nodes", async (version) => {
    const { readFileSync } = await import("node:fs");
    const { manifestFixture } = await import("../helpers/dbt-project.js");
    const manifest = JSON.parse(readFileSync(manifestFixture(`manifest-v${version}.json`), "utf8")) as Record<string, any>;
    expect(Object.keys(manifest).sort()).toEqual([...topLevel[version]!].sort());
    expect(manifest.metadata.dbt_schema_version).toBe(`https://schemas.getdbt.com/dbt/manifest/v${version}.json`);
    const nodes = [...Object.values(manifest.nodes), ...Object.values(manifest.disabled).flat()] as Record<string, any>[];
    for (const node of nodes.filter((n) => n.resource_type === "model")) {
      for (const key of modelRequired) expect(node, `${node.unique_id}.${key}`).toHaveProperty(key);
      expect(Object.keys(node.checksum).sort()).toEqual(["checksum", "name"]);
      expect(node.unique_id).toBe(`model.${node.package_name}.${node.name}`);
      expect(node.relation_name === null).toBe(node.config.materialized === "ephemeral");
    }
    for (const source of Object.values(manifest.sources) as Record<string, any>[]) {
      for (const key of sourceRequired) expect(source, `${source.unique_id}.${key}`).toHaveProperty(key);
    }
    // What the tests rely on: a package clash, a disabled and an ephemeral model, a model
    // and a source sharing a name, and compiled_code both present and absent.
    expect(nodes.filter((n) => n.name === "engaged_users").map((n) => n.package_name).sort()).toEqual(["crm", "marketing"]);
    expect(Object.keys(manifest.disabled)).toEqual(["model.shop.churned_users"]);
    expect(manifest.nodes["model.shop.stg_events"].config.materialized).toBe("ephemeral");
    expect(manifest.sources["source.shop.app.customers"].name).toBe(manifest.nodes["model.shop.customers"].name);
    expect(manifest.nodes["model.shop.users_vip"].compiled_code).toEqual(expect.any(String));
    expect(manifest.nodes["model.shop.customers"]).not.toHaveProperty("compiled_code");
  });
});

describe("the library's dbtExposures()", () => {
  it("returns the exposures text for a project, and refuses one without an owner", async () => {
    const { dbtExposures, CohoError } = await import("../../src/index.js");
    const { parse } = await import("yaml");
    const cohorts = "identifiers:\n  user_id: { type: external_id, column: user_id }\ncohorts:\n  vip: { name: VIP, destination: braze, model: vip, identifier: user_id }\n";
    const destinations = "destinations:\n  braze:\n    type: braze_cohorts\n    rest_endpoint: https://rest.iad-01.braze.com\n    partner: acme\n    partner_api_key: ${env:K1}\n    data_import_key: ${env:K2}\n";
    const env = { K1: "SECRET-partner-key-1234", K2: "SECRET-import-key-5678" };
    const dir = dbtProject(`${dbtHeader("  owner: { email: growth@example.com }\n")}${destinations}models:\n  vip: { dbt: users_vip }\n${cohorts}`);
    const result = dbtExposures(dir, { env });
    expect(result.count).toBe(1);
    expect(result.text).not.toContain("SECRET-");
    expect(parse(result.text).exposures[0]).toMatchObject({ name: "coho_vip", url: "https://dashboard-01.braze.com", owner: { email: "growth@example.com" }, depends_on: ["ref('users_vip')"] });
    const ownerless = dbtProject(`${dbtHeader()}${destinations}models:\n  vip: { dbt: users_vip }\n${cohorts}`);
    expect(() => dbtExposures(ownerless, { env })).toThrow(CohoError);
  });
});
