import { describe, expect, it } from "vitest";
import type { BigQuerySourceConfig, ModelConfig } from "../../src/model/project.js";
import { Secret } from "../../src/model/secret.js";
import { bigQueryError } from "../../src/sources/bigquery/bigquery-errors.js";
import { jobLabels } from "../../src/sources/bigquery/job-labels.js";
import { bytesValue } from "../../src/config/build-bigquery.js";

// The BigQuery emulator enforces no IAM and no byte cap, so these answers cannot be
// provoked against it: they are BigQuery's documented error shapes
// (cloud.google.com/bigquery/docs/error-messages), as the client hands them over.
const origin = { file: "/p/coho.yaml", line: 3, column: 5 };
const config: BigQuerySourceConfig = { type: "bigquery", name: "wh", project: "acme-prod", dataset: "crm", location: "EU", credentials: new Secret("{}", "BQ_KEY"), maximumBytesBilled: 10_000_000, apiEndpoint: undefined, requestTimeoutMs: 120_000, origin };
const model: ModelConfig = { name: "buyers", source: "wh", primaryKey: undefined, sql: "select user_id\nfrom buyers\nwhere x", sqlOrigin: { file: "/p/coho.yaml", line: 12, column: 7 }, origin };
const apiError = (code: number, reason: string, message: string) => Object.assign(new Error(message), { code, errors: [{ reason, message }] });
const failure = (error: unknown, lineOffset = 1) => bigQueryError(config, error, { model, lineOffset, answered: true }) as Error & { code: string; hint?: string; location?: unknown };

describe("BigQuery's refusals become located errors that say what to do", () => {
  it("permission denied names the missing permission and the least role that grants it", () => {
    const error = failure(apiError(403, "accessDenied", "Access Denied: Project acme-prod: User does not have bigquery.jobs.create permission in project acme-prod."));
    expect(error.code).toBe("source.permission_denied");
    expect(error.message).toContain("the credentials lack bigquery.jobs.create");
    expect(error.hint).toContain("roles/bigquery.jobUser on the project");
    expect(error.location).toEqual(model.sqlOrigin);
    const table = failure(apiError(403, "accessDenied", "Access Denied: Table acme-prod:crm.buyers: User does not have permission to query table acme-prod:crm.buyers, or perhaps it does not exist."));
    expect(table.hint).toContain("roles/bigquery.dataViewer");
  });

  it("a job over maximum_bytes_billed, a credentials rejection and an unknown project", () => {
    const capped = failure(apiError(400, "bytesBilledLimitExceeded", "Query exceeded limit for bytes billed: 10000000. 20971520 or higher required."));
    expect(capped.code).toBe("source.bytes_limit");
    expect(capped.message).toContain("sources.wh.maximum_bytes_billed (9.5 MiB)");
    const rejected = failure(apiError(401, "authError", "Request had invalid authentication credentials."));
    expect(rejected.code).toBe("source.credentials_rejected");
    expect(rejected.message).toContain("environment variable BQ_KEY");
    const project = failure(apiError(404, "notFound", "Not found: Project acme-prd"));
    expect(project.code).toBe("source.relation_not_found");
    expect(project.message).toContain("has no project acme-prd");
  });

  it("a syntax error's [line:column] points into the model, past coho's own wrapping line", () => {
    const error = failure(apiError(400, "invalidQuery", "Unrecognized name: x at [4:7]"));
    expect(error.code).toBe("source.sql_error");
    expect(error.location).toEqual({ file: "/p/coho.yaml", line: 14, column: 13 });
  });
});

describe("BigQuery settings", () => {
  it("labels jobs within BigQuery's label rules", () => {
    expect(jobLabels("wh", "buyers", ['by_country["DE"]', "vip"])).toEqual({ tool: "coho", coho_source: "wh", coho_model: "buyers", coho_cohort: "by_country_de_-vip" });
    expect(jobLabels("wh", "m", ["x".repeat(80)]).coho_cohort).toHaveLength(63);
  });

  it("reads maximum_bytes_billed in decimal and binary units", () => {
    expect([bytesValue(5000), bytesValue("10 GB"), bytesValue("1KiB"), bytesValue("1.5 MiB")]).toEqual([5000, 10_000_000_000, 1024, 1_572_864]);
  });
});
