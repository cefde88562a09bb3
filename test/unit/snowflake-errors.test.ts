import { describe, expect, it } from "vitest";
import { CohoError } from "../../src/model/errors.js";
import type { ModelConfig, SnowflakeSourceConfig } from "../../src/model/project.js";
import { Secret } from "../../src/model/secret.js";
import { snowflakeDigestFromRow } from "../../src/sources/snowflake/dialect.js";
import { classifySnowflakeError, missingRelation, snowflakeError } from "../../src/sources/snowflake/snowflake-errors.js";
import { queryTag } from "../../src/sources/snowflake/query-tag.js";
import { memberDigest } from "../../src/state/member-digest.js";
import { createHash } from "node:crypto";

const origin = { file: "coho.yaml", line: 3, column: 5 };
const config: SnowflakeSourceConfig = {
  type: "snowflake", name: "wh", account: "myorg-acct", user: "COHO",
  auth: { kind: "password", password: new Secret("hunter2-password", "SF_PASSWORD", "sources.wh.password") },
  warehouse: "WH", role: "COHO_ROLE", database: "ANALYTICS", schema: "PUBLIC", accessUrl: undefined, requestTimeoutMs: 120_000, origin,
};
const model = { name: "active", sql: "select id\nfrom users\nwhere nope = 1", sqlOrigin: { file: "coho.yaml", line: 10, column: 7 }, origin } as unknown as ModelConfig;

/** Snowflake's own error shapes, as snowflake-sdk reports them (code, sqlState, message). */
const snowflake = (code: string, sqlState: string, message: string) => Object.assign(new Error(message), { code, sqlState });

describe("Snowflake errors become located, typed errors", () => {
  it("classifies Snowflake's codes: login, access control, missing objects, compilation, network", () => {
    expect(classifySnowflakeError(snowflake("390100", "08004", "Incorrect username or password was specified."))).toBe("unauthenticated");
    expect(classifySnowflakeError(snowflake("390144", "08004", "JWT token is invalid."))).toBe("unauthenticated");
    expect(classifySnowflakeError(snowflake("003001", "42501", "SQL access control error: Insufficient privileges to operate on table 'T'"))).toBe("access_denied");
    expect(classifySnowflakeError(snowflake("002003", "42S02", "SQL compilation error: Object 'ANALYTICS.PUBLIC.NOPE' does not exist or not authorized."))).toBe("not_found");
    expect(classifySnowflakeError(snowflake("000904", "42000", "SQL compilation error: error line 3 at position 6 invalid identifier 'NOPE'"))).toBe("invalid_query");
    expect(classifySnowflakeError(Object.assign(new Error("Network error. Could not reach Snowflake."), { code: "401001" }))).toBe("network");
  });

  it("names the missing relation in Snowflake's wording and fakesnow's", () => {
    expect(missingRelation("SQL compilation error: Object 'ANALYTICS.PUBLIC.NOPE' does not exist or not authorized.")).toEqual({ kind: "table or view", name: "ANALYTICS.PUBLIC.NOPE" });
    expect(missingRelation("Catalog Error: Table with name NOPE does not exist!")).toEqual({ kind: "table", name: "NOPE" });
  });

  it("a compilation error points into the model (Snowflake's line and 0-based position); a missing grant names the GRANT; a rejected login names the variable only", () => {
    const sql = snowflakeError(config, snowflake("000904", "42000", "000904 (42000): SQL compilation error: error line 4 at position 6\ninvalid identifier 'NOPE'"), { model, lineOffset: 1, answered: true }) as CohoError;
    expect(sql.code).toBe("source.sql_error");
    expect(sql.location).toEqual({ file: "coho.yaml", line: 12, column: 13 });
    const denied = snowflakeError(config, snowflake("003001", "42501", "SQL access control error: Insufficient privileges to operate on table 'USERS'"), { model, lineOffset: 0, answered: true }) as CohoError;
    expect(denied.code).toBe("source.permission_denied");
    expect(denied.hint).toContain("GRANT SELECT ON TABLE USERS TO ROLE COHO_ROLE");
    const login = snowflakeError(config, snowflake("390100", "08004", "Incorrect username or password was specified."), { model: undefined, lineOffset: 0, answered: false }) as CohoError;
    expect(login.code).toBe("source.credentials_rejected");
    expect(login.message).toContain("environment variable SF_PASSWORD");
    expect(login.message).not.toContain("hunter2");
    const lost = snowflakeError(config, Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }), { model, lineOffset: 0, answered: true }) as CohoError;
    expect(lost.code).toBe("source.connection_lost");
    const unreachable = snowflakeError(config, Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }), { model, lineOffset: 0, answered: false }) as CohoError;
    expect(unreachable.code).toBe("source.snowflake_unreachable");
    expect(unreachable.message).toContain("https://myorg-acct.snowflakecomputing.com");
  });
});

describe("Snowflake query tags and digests", () => {
  it("tags name coho, the source, the model and its cohorts, within Snowflake's 2,000 characters", () => {
    expect(queryTag("wh", { model: "active", cohorts: ["alpha"] })).toBe('{"tool":"coho","source":"wh","model":"active","cohorts":["alpha"]}');
    expect(queryTag("wh", { work: "state" })).toBe('{"tool":"coho","source":"wh","work":"state"}');
    const many = queryTag("wh", { model: "m", cohorts: Array.from({ length: 500 }, (_, i) => `cohort_${i}`) });
    expect(many.length).toBeLessThanOrEqual(2000);
    expect((JSON.parse(many) as { cohorts: string[] }).cohorts[0]).toBe("cohort_0");
  });

  it("the digest read from Snowflake's exact NUMBER sums equals coho's member digest (sums taken modulo 2^64)", () => {
    const keys = Array.from({ length: 50 }, (_, i) => `external_id:user-${i}`);
    const halves = keys.map((k) => createHash("md5").update(k, "utf8").digest());
    const sum = (at: number) => halves.reduce((n, h) => n + h.readBigUInt64BE(at), 0n).toString();
    expect(snowflakeDigestFromRow([String(keys.length), sum(0), sum(8)])).toBe(memberDigest(keys));
  });
});
