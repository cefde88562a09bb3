import { createPublicKey, generateKeyPairSync, verify } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { withoutProgress } from "../helpers/cli.js";
import { emulators, requestLog } from "../helpers/emulator.js";
import { brazeByName, coho, ids, isMembershipRequest, keysOf } from "../helpers/apply-project.js";
import { bigQueryEmulatorPerFile, bigQuerySourceYaml, bigQueryUrl, createDataset, replaceMembers, runBigQuery } from "../helpers/bigquery.js";
import { destinationEntry, writeProject } from "../helpers/project.js";
import { seededRandom } from "../helpers/random.js";
import { killAt, pointName, type KillPoint } from "../helpers/kill-points.js";
import { spawnApply } from "../helpers/spawn-apply.js";

const start = emulators();
bigQueryEmulatorPerFile();

/** Two cohorts over two BigQuery tables of a dataset of their own (members_a, members_b: STRING user_id). */
async function bigQueryProject(emuUrl: string, options: { source?: string; guards?: string; dataset?: string } = {}): Promise<{ dir: string; dataset: string }> {
  const dataset = options.dataset ?? (await createDataset("e2e"));
  await replaceMembers(dataset, "members_a", []);
  await replaceMembers(dataset, "members_b", []);
  const guards = options.guards ?? "    guards: { max_removals: 100%, allow_empty: true }\n";
  const dir = writeProject({
    "coho.yaml": `version: 1
${options.source ?? bigQuerySourceYaml(dataset)}destinations:
${destinationEntry("braze", emuUrl)}models:
  a:
    source: wh
    sql: select user_id from \`${dataset}.members_a\`
  b:
    source: wh
    sql: |
      select user_id
      from ${dataset}.members_b
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  alpha:
    name: Alpha
    destination: braze
    model: a
    identifier: user_id
${guards}  beta:
    name: Beta
    destination: braze
    model: b
    identifier: user_id
${guards}`,
  });
  return { dir, dataset };
}


describe("a BigQuery source (the BigQuery emulator), pulled through into the embedded engine", () => {
  it("creates cohorts with every member, then finds nothing to do, then sends exactly the delta; jobs carry coho's labels", async () => {
    const emu = await start();
    const tap = await relay(bigQueryUrl());
    const dataset = await createDataset("e2e");
    const { dir } = await bigQueryProject(emu.url, { dataset, source: bigQuerySourceYaml(dataset, "", tap.url) });
    await replaceMembers(dataset, "members_a", ids(2500));
    await replaceMembers(dataset, "members_b", ids(10, 50_000));

    const first = await coho(dir, ["apply", "--auto-approve"]);
    expect(withoutProgress(first.stderr)).toBe("");
    expect(first.code).toBe(0);
    expect(await brazeByName(emu)).toEqual({ Alpha: keysOf(ids(2500)), Beta: keysOf(ids(10, 50_000)) });
    expect((await requestLog(emu)).filter(isMembershipRequest).map((r) => r.identifiers).sort()).toEqual([10, 1000, 1000, 500]);

    const again = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("No changes. Braze cohorts match the configuration.");

    const next = [...ids(2500).slice(3), "new-1", "new-2"];
    await replaceMembers(dataset, "members_a", next);
    const planned = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(planned.code).toBe(2);
    expect(planned.stdout).toContain("2,500 → 2,499  (+2 / −3)");
    // The cost line names what the dry runs said BigQuery would process.
    expect(planned.stdout).toMatch(/BigQuery \(source wh\): \d+(\.\d)? (B|KiB|MiB) processed \(dry run of 2 queries\)\./);
    const before = emu.log.total;
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const delta = (await requestLog(emu)).filter((r) => r.seq > before);
    expect(delta.map((r) => r.cohort_changes)).toEqual([[{ user_ids: ["new-1", "new-2"] }, { user_ids: ["u00000", "u00001", "u00002"], should_remove: true }]]);

    // Every query coho sends labels its job with coho, the source, the model and its cohort
    // (the emulator keeps no labels to list, so they are read off the wire).
    const sent = tap.requests.join("").split(/\r\n\r\n/).filter((part) => part.includes('"query"'));
    expect(sent.length).toBeGreaterThanOrEqual(8);
    for (const body of sent) expect(body).toMatch(/"labels":\{"tool":"coho","coho_source":"wh","coho_model":"[ab]","coho_cohort":"(alpha|beta)"\}/);
    await tap.close();
  }, 120_000);
});



describe("BigQuery sources through the apply suites' scenarios", () => {
  it("a cohort set over a BigQuery model: one cohort per key value, then only the instance that changed", async () => {
    const emu = await start();
    const dataset = await createDataset("sets");
    const rows = (country: string, n: number) => ids(n).map((id) => `('${country}', '${country}-${id}')`);
    const load = (values: string[]) => runBigQuery(dataset, `CREATE OR REPLACE TABLE ${dataset}.members AS SELECT country, user_id FROM UNNEST([STRUCT<country STRING, user_id STRING>${values.join(",")}])`);
    await load([...rows("DE", 1200), ...rows("FR", 3)]);
    const dir = writeProject({
      "coho.yaml": `version: 1
${bigQuerySourceYaml(dataset)}destinations:
${destinationEntry("braze", emu.url)}models:
  members: { source: wh, sql: "select country, user_id from ${dataset}.members" }
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  by_country:
    name: "Country: {key}"
    destination: braze
    model: members
    identifier: user_id
    for_each: { key: country }
`,
    });
    const first = await coho(dir, ["apply", "--auto-approve"]);
    expect(first.code, first.stderr).toBe(0);
    const byName = await brazeByName(emu);
    expect(Object.keys(byName).sort()).toEqual(["Country: DE", "Country: FR"]);
    expect(byName["Country: DE"]).toHaveLength(1200);
    await load([...rows("DE", 1200), ...rows("FR", 3).slice(1)]);
    const before = emu.log.total;
    expect((await coho(dir, ["apply", "--auto-approve"])).code).toBe(0);
    const sent = (await requestLog(emu)).filter((r) => r.seq > before);
    expect(sent.map((r) => r.cohort_changes)).toEqual([[{ user_ids: ["FR-u00000"], should_remove: true }]]);
  }, 120_000);

  it("a saved plan applies exactly its deltas, though the table changed after planning", async () => {
    const emu = await start();
    const { dir, dataset } = await bigQueryProject(emu.url);
    await replaceMembers(dataset, "members_a", ids(1500));
    await replaceMembers(dataset, "members_b", ids(2, 900));
    expect((await coho(dir, ["plan", "--out", join(dir, "first.plan")])).code).toBe(0);
    await replaceMembers(dataset, "members_b", ids(5, 900));
    const applied = await coho(dir, ["apply", join(dir, "first.plan")]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(await brazeByName(emu)).toEqual({ Alpha: keysOf(ids(1500)), Beta: keysOf(ids(2, 900)) });
    // The next plan reads the table as it is now: the three rows added after planning.
    const next = await coho(dir, ["plan", "--detailed-exitcode"]);
    expect(next.code).toBe(2);
    expect(next.stdout).toContain("2 → 5  (+3 / −0)");
  }, 120_000);

  // What a kill proves here beyond the apply crash suite (test/e2e/apply-crash.test.ts,
  // whose local-state cell runs this same journal through every kill point): the next
  // apply re-runs the models in BigQuery, against a table that changed, and finishes
  // the interrupted work first. Two points show it, an unanswered request mid-way and
  // the fold; the four random-moment rounds this replaced re-proved the journal.
  it("after a SIGKILL mid-way and during the fold, the next apply converges exactly (the table changing each round)", async () => {
    const emu = await start({ faultRate: 1, faultKinds: ["slow"], latencyMs: 40 });
    const { dir, dataset } = await bigQueryProject(emu.url);
    const rnd = seededRandom(20261207);
    const points: KillPoint[] = [{ at: "in flight", request: "middle" }, { at: "after the last answer" }];
    for (const [round, point] of points.entries()) {
      const a = ids(4000).filter(() => rnd() < 0.6);
      const b = ids(1000, 50_000).filter(() => rnd() < 0.5);
      await replaceMembers(dataset, "members_a", a);
      await replaceMembers(dataset, "members_b", b);
      await killAt(point, emu, emu.log.total, spawnApply("binary", dir, { COHO_CONCURRENCY: "1" }));
      const after = await coho(dir, ["apply", "--auto-approve"]);
      expect(after.code, `round ${round} (${pointName(point)}): ${after.stdout}${after.stderr}`).toBe(0);
      if (point.at === "in flight") expect(after.stderr, pointName(point)).toContain("Found an interrupted apply");
      expect(await brazeByName(emu), `round ${round} (${pointName(point)})`).toEqual({ Alpha: keysOf(a), Beta: keysOf(b) });
    }
    expect((await coho(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);
  }, 300_000);
});

/** A service-account key file's JSON with a fresh RSA key, as `gcloud iam service-accounts keys create` writes it. */
function serviceAccountJson(): { json: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
  const json = JSON.stringify({ type: "service_account", project_id: "coho-test", private_key_id: "k1", private_key: privateKey, client_email: "coho@coho-test.iam.gserviceaccount.com", token_uri: "https://oauth2.googleapis.com/token" });
  return { json, publicKeyPem: publicKey };
}

/**
 * A TCP relay to the emulator that records each request's Authorization header and,
 * once `cutAfterBytes` bytes of answers have passed, drops every connection: the
 * network going away in the middle of a plan.
 */
async function relay(target: string, options: { cutAfterBytes?: number } = {}) {
  const upstream = new URL(target);
  const authorizations: string[] = [];
  const requests: string[] = [];
  let answered = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    const backend = connect(Number(upstream.port), upstream.hostname);
    sockets.add(backend);
    client.on("data", (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      requests.push(text);
      for (const m of text.matchAll(/^authorization: (.*)\r$/gim)) authorizations.push(m[1]!);
      backend.write(chunk);
    });
    backend.on("data", (chunk: Buffer) => {
      answered += chunk.length;
      if (options.cutAfterBytes !== undefined && answered > options.cutAfterBytes) {
        for (const s of sockets) s.destroy();
        return;
      }
      client.write(chunk);
    });
    const close = () => {
      client.destroy();
      backend.destroy();
    };
    client.on("error", close).on("close", close);
    backend.on("error", close).on("close", close);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    authorizations,
    requests,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** Nothing of a failed plan is left behind: no lockfile, no snapshot, no request to Braze. */
async function nothingWritten(dir: string, emu: { url: string }): Promise<void> {
  expect(existsSync(join(dir, "coho.lock"))).toBe(false);
  const state = join(dir, ".coho");
  expect(existsSync(state) ? readdirSync(state).filter((f) => f !== "tmp") : []).toEqual([]);
  expect(await requestLog(emu as never)).toEqual([]);
}

describe("BigQuery sources refuse bad input with a located error, exit 1 and nothing written", () => {
  it("credentials: an unset variable, or a value that is not a service-account key, is named by its variable, never shown", async () => {
    const emu = await start();
    const dataset = await createDataset("creds");
    const source = bigQuerySourceYaml(dataset, "    credentials: ${env:BQ_KEY}\n");
    const { dir } = await bigQueryProject(emu.url, { dataset, source });
    const unset = await coho(dir, ["plan"]);
    expect(unset.code).toBe(1);
    expect(unset.stderr).toMatch(/coho\.yaml:\d+:\d+/);
    expect(unset.stderr).toContain("BQ_KEY");

    const planted = "SECRET-bq-key-4242";
    for (const [value, problem] of [
      [planted, "is not JSON"],
      [JSON.stringify({ type: "authorized_user", refresh_token: planted }), `is not a service-account key: its "type" is "authorized_user", expected "service_account"`],
      [JSON.stringify({ type: "service_account", client_email: "a@b.c", private_key: planted }), `holds a "private_key" that is not a PEM private key`],
    ] as const) {
      const result = await coho(dir, ["plan"], { BQ_KEY: value });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`sources.wh.credentials: the value of environment variable BQ_KEY ${problem}`);
      expect(result.stderr).toMatch(/coho\.yaml:8:\d+/);
      expect(result.stderr + result.stdout).not.toContain(planted);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
    await nothingWritten(dir, emu);
  });

  it("signs every request with the service-account key given (a self-signed JWT the key's public half verifies)", async () => {
    const emu = await start();
    const { json, publicKeyPem } = serviceAccountJson();
    const tap = await relay(bigQueryUrl());
    try {
      const dataset = await createDataset("signed");
      const { dir } = await bigQueryProject(emu.url, { dataset, source: bigQuerySourceYaml(dataset, "    credentials: ${env:BQ_KEY}\n", tap.url) });
      await replaceMembers(dataset, "members_a", ids(3));
      const result = await coho(dir, ["plan", "--json"], { BQ_KEY: json });
      expect(result.code, result.stderr).toBe(0);
      expect(tap.authorizations.length).toBeGreaterThan(2);
      const [header, payload, signature] = tap.authorizations[0]!.replace(/^Bearer /, "").split(".");
      expect(verify("RSA-SHA256", Buffer.from(`${header}.${payload}`), createPublicKey(publicKeyPem), Buffer.from(signature!, "base64url"))).toBe(true);
      const claims = JSON.parse(Buffer.from(payload!, "base64url").toString()) as { iss: string; scope: string };
      expect(claims).toMatchObject({ iss: "coho@coho-test.iam.gserviceaccount.com", scope: "https://www.googleapis.com/auth/bigquery" });
      expect(result.stdout + result.stderr).not.toContain("PRIVATE KEY");
    } finally {
      await tap.close();
    }
  });

  it("an unknown table or dataset is named, at the model", async () => {
    const emu = await start();
    const { dir, dataset } = await bigQueryProject(emu.url);
    const yaml = join(dir, "coho.yaml");
    const { readFileSync, writeFileSync } = await import("node:fs");
    writeFileSync(yaml, readFileSync(yaml, "utf8").replace(`select user_id from \`${dataset}.members_a\``, `select user_id from ${dataset}.no_such_table`));
    const table = await coho(dir, ["plan"]);
    expect(table.code).toBe(1);
    expect(table.stderr).toContain("model a: source wh (BigQuery project coho-test) has no table");
    expect(table.stderr).toContain("no_such_table");
    expect(table.stderr).toMatch(/coho\.yaml:1\d:\d+/);
    writeFileSync(yaml, readFileSync(yaml, "utf8").replace(`${dataset}.no_such_table`, "no_such_dataset.members_a"));
    const other = await coho(dir, ["plan"]);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain("no_such_dataset");
    await nothingWritten(dir, emu);
  });

  it("a model whose dry run is over maximum_bytes_billed is refused before it runs", async () => {
    const emu = await start();
    const dataset = await createDataset("capped");
    const { dir } = await bigQueryProject(emu.url, { dataset, source: bigQuerySourceYaml(dataset, "    maximum_bytes_billed: 1 KiB\n") });
    await replaceMembers(dataset, "members_a", ids(500));
    const result = await coho(dir, ["plan"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/model a: its dry run shows \d+(\.\d)? KiB to process, over sources\.wh\.maximum_bytes_billed \(1\.0 KiB\); nothing ran/);
    expect(result.stderr).toMatch(/coho\.yaml:1\d:\d+/);
    await nothingWritten(dir, emu);
  });

  it("an identifier column BigQuery cannot compare as text (FLOAT64), and a SQL error, are located in the model", async () => {
    const emu = await start();
    const { dir, dataset } = await bigQueryProject(emu.url);
    const yaml = join(dir, "coho.yaml");
    const { readFileSync, writeFileSync } = await import("node:fs");
    const original = readFileSync(yaml, "utf8");
    writeFileSync(yaml, original.replace(`select user_id from \`${dataset}.members_a\``, "select 1.5 as user_id"));
    const typed = await coho(dir, ["plan"]);
    expect(typed.code).toBe(1);
    expect(typed.stderr).toContain("model a: column `user_id` (needed by identifier `user_id`) is FLOAT");
    writeFileSync(yaml, original.replace(`      from ${dataset}.members_b`, `      from ${dataset}.members_b\n      where nope = 1`));
    const sql = await coho(dir, ["plan"]);
    expect(sql.code).toBe(1);
    expect(sql.stderr).toContain("model b: the database refused its SQL");
    expect(sql.stderr).toMatch(/nope/);
    await nothingWritten(dir, emu);
  });

  it("the connection lost mid-plan (while a page of rows arrives) is a located error; nothing is written", async () => {
    const emu = await start();
    const dataset = await createDataset("lost");
    const cut = await relay(bigQueryUrl(), { cutAfterBytes: 100_000 });
    try {
      const { dir } = await bigQueryProject(emu.url, { dataset, source: bigQuerySourceYaml(dataset, "    request_timeout: 5s\n", cut.url) });
      await replaceMembers(dataset, "members_a", ids(25_000));
      const result = await coho(dir, ["plan"]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/source wh: the connection to BigQuery at http:\/\/127\.0\.0\.1:\d+ was lost while models\.a ran/);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      await nothingWritten(dir, emu);
    } finally {
      await cut.close();
    }
  });
});
