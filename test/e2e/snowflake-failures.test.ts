import { createPublicKey, generateKeyPairSync, verify } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { coho, ids, setProjectEnv } from "../helpers/apply-project.js";
import { emulators, requestLog } from "../helpers/emulator.js";
import { SNOWFLAKE_ENV, newSchema, replaceSnowflakeMembers, snowflakeSourceYaml, startFakesnow, type RunningFakesnow } from "../helpers/fakesnow.js";
import { destinationEntry, writeProject } from "../helpers/project.js";

const start = emulators();
/** One stand-in for the whole file: it refuses the login of user REJECTED and any statement on table SECRET_MEMBERS, as Snowflake would. */
let fs: RunningFakesnow;
beforeAll(async () => {
  fs = await startFakesnow({ rejectUsers: ["REJECTED"], denyTables: ["SECRET_MEMBERS"] });
});
afterAll(async () => {
  await fs?.stop();
});

/** A project of two cohorts over MEMBERS_A and MEMBERS_B of a schema of its own; `source` replaces the sources: entry. */
async function failingProject(emuUrl: string, options: { source?: (schema: string) => string; env?: Record<string, string> } = {}): Promise<{ dir: string; schema: string }> {
  const schema = newSchema("fail");
  await replaceSnowflakeMembers(fs, schema, "members_a", ids(3));
  await replaceSnowflakeMembers(fs, schema, "members_b", ids(2));
  const dir = writeProject({
    "coho.yaml": `version: 1
${options.source ? options.source(schema) : snowflakeSourceYaml(fs.url, schema)}destinations:
${destinationEntry("braze", emuUrl)}models:
  a:
    source: wh
    sql: select user_id from members_a
  b:
    source: wh
    sql: |
      select user_id
      from members_b
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  alpha: { name: Alpha, destination: braze, model: a, identifier: user_id }
  beta: { name: Beta, destination: braze, model: b, identifier: user_id }
`,
  });
  setProjectEnv(dir, options.env ?? SNOWFLAKE_ENV);
  return { dir, schema };
}

/** Nothing of a failed command is left behind: no lockfile, no snapshot, no request to Braze. */
async function nothingWritten(dir: string, emu: { url: string }): Promise<void> {
  expect(existsSync(join(dir, "coho.lock"))).toBe(false);
  const state = join(dir, ".coho");
  expect(existsSync(state) ? readdirSync(state).filter((f) => f !== "tmp") : []).toEqual([]);
  expect(await requestLog(emu as never)).toEqual([]);
}

const keyAuth = '    private_key: "${env:SF_KEY}"\n';

function rsaKey(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

describe("Snowflake sources refuse bad input with a located error, exit 1 and nothing written", () => {
  it("credentials: an unset variable, or a value that is not a usable private key, is named by its variable, never shown", async () => {
    const emu = await start();
    const { dir } = await failingProject(emu.url, { source: (schema) => snowflakeSourceYaml(fs.url, schema, "", keyAuth), env: {} });
    const unset = await coho(dir, ["plan"]);
    expect(unset.code).toBe(1);
    expect(unset.stderr).toMatch(/coho\.yaml:7:\d+/);
    expect(unset.stderr).toContain("SF_KEY");

    const planted = "SECRET-sf-key-4242";
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256", privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } }).privateKey;
    const encrypted = generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: planted }, publicKeyEncoding: { type: "spki", format: "pem" } }).privateKey;
    for (const [value, problem] of [
      [planted, "is not a PEM private key"],
      [`-----BEGIN PRIVATE KEY-----\n${planted}\n-----END PRIVATE KEY-----\n`, "is not a readable PEM private key"],
      [ec, "is a ec key; Snowflake's key-pair authentication takes an RSA key"],
      [encrypted, "is an encrypted private key, and private_key_passphrase is not set"],
    ] as const) {
      const result = await coho(dir, ["plan"], { SF_KEY: value });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`sources.wh.private_key: the value of environment variable SF_KEY ${problem}`);
      expect(result.stderr).toMatch(/coho\.yaml:7:\d+/);
      expect(result.stderr + result.stdout).not.toContain(planted);
      expect(result.stderr).not.toMatch(/MII[A-Za-z0-9+/]{16}/); // no key material
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
    // A key written in YAML, and two ways to sign in at once, are refused too.
    const yaml = join(dir, "coho.yaml");
    const original = readFileSync(yaml, "utf8");
    writeFileSync(yaml, original.replace(keyAuth, `    private_key: "${planted}"\n`));
    const literal = await coho(dir, ["plan"]);
    expect(literal.code).toBe(1);
    expect(literal.stderr).toContain("sources.wh.private_key is a secret and must be an environment reference such as ${env:NAME}");
    writeFileSync(yaml, original.replace(keyAuth, `${keyAuth}    password: "\${env:SNOWFLAKE_PASSWORD}"\n`));
    const both = await coho(dir, ["plan"], { SF_KEY: rsaKey().privateKeyPem, ...SNOWFLAKE_ENV });
    expect(both.code).toBe(1);
    expect(both.stderr).toContain("sources.wh: give exactly one of private_key (key-pair authentication, recommended) and password");
    await nothingWritten(dir, emu);
  });

  it("signs in with the key pair: the login carries a JWT for the account and user that the key's public half verifies", async () => {
    const emu = await start();
    const { privateKeyPem, publicKeyPem } = rsaKey();
    const { dir } = await failingProject(emu.url, { source: (schema) => snowflakeSourceYaml(fs.url, schema, "", keyAuth), env: { SF_KEY: privateKeyPem } });
    const seen = fs.statements().length;
    const result = await coho(dir, ["plan", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const logins = fs.statements().slice(seen).filter((s) => s.login !== undefined);
    expect(logins.length).toBeGreaterThanOrEqual(1);
    expect(logins[0]).toMatchObject({ login: "COHO", authenticator: "SNOWFLAKE_JWT", client: "JavaScript" });
    const [header, payload, signature] = logins[0]!.token!.split(".");
    expect(verify("RSA-SHA256", Buffer.from(`${header}.${payload}`), createPublicKey(publicKeyPem), Buffer.from(signature!, "base64url"))).toBe(true);
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString()) as { iss: string; sub: string };
    expect(claims.sub).toBe("COHO-TEST.COHO");
    expect(claims.iss).toMatch(/^COHO-TEST\.COHO\.SHA256:/);
    expect(result.stdout + result.stderr).not.toContain("PRIVATE KEY");
  });

  it("a login Snowflake refuses is a located error naming the variable, not its value", async () => {
    const emu = await start();
    const { dir } = await failingProject(emu.url, { source: (schema) => snowflakeSourceYaml(fs.url, schema).replace("user: COHO", "user: REJECTED") });
    const result = await coho(dir, ["plan"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("source wh: Snowflake rejected user REJECTED with the password in environment variable SNOWFLAKE_PASSWORD");
    expect(result.stderr).toMatch(/coho\.yaml:3:\d+/);
    expect(result.stderr + result.stdout).not.toContain(SNOWFLAKE_ENV.SNOWFLAKE_PASSWORD);
    await nothingWritten(dir, emu);
  });

  it("an unknown table or schema is named at the model; a table the role may not read names the grant it lacks", async () => {
    const emu = await start();
    const { dir, schema } = await failingProject(emu.url);
    const yaml = join(dir, "coho.yaml");
    const original = readFileSync(yaml, "utf8");
    writeFileSync(yaml, original.replace("select user_id from members_a", "select user_id from no_such_table"));
    const table = await coho(dir, ["plan"]);
    expect(table.code).toBe(1);
    expect(table.stderr).toContain("model a: source wh (Snowflake account coho-test) has no table NO_SUCH_TABLE");
    expect(table.stderr).toContain(`coho.yaml:${lineOf(yaml, "no_such_table")}:`);
    writeFileSync(yaml, original.replace("select user_id from members_a", "select user_id from no_such_schema.members_a"));
    const other = await coho(dir, ["plan"]);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain("model a: source wh (Snowflake account coho-test) has no");
    expect(other.stderr).toContain("NO_SUCH_SCHEMA");

    await replaceSnowflakeMembers(fs, schema, "secret_members", ids(2));
    writeFileSync(yaml, original.replace("select user_id from members_a", "select user_id from secret_members"));
    const denied = await coho(dir, ["plan"]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain("model a: source wh (Snowflake account coho-test) refused access to SECRET_MEMBERS");
    expect(denied.stderr).toContain("GRANT SELECT ON TABLE SECRET_MEMBERS TO ROLE COHO_ROLE");
    expect(denied.stderr).toContain(`coho.yaml:${lineOf(yaml, "secret_members")}:`);
    await nothingWritten(dir, emu);
  });

  it("an identifier column Snowflake cannot compare as text (FLOAT, NUMBER with a scale), and a SQL error, are located in the model", async () => {
    const emu = await start();
    const { dir } = await failingProject(emu.url);
    const yaml = join(dir, "coho.yaml");
    const original = readFileSync(yaml, "utf8");
    for (const [sql, type] of [["select 1.5::float as user_id", "FLOAT"], ["select 1.25::number(10,2) as user_id", "NUMBER(10,2)"]] as const) {
      writeFileSync(yaml, original.replace("select user_id from members_a", sql));
      const typed = await coho(dir, ["plan"]);
      expect(typed.code).toBe(1);
      expect(typed.stderr).toContain(`model a: column \`USER_ID\` (needed by identifier \`user_id\`) is ${type}`);
    }
    writeFileSync(yaml, original.replace("      from members_b", "      from members_b\n      where nope = 1"));
    const sql = await coho(dir, ["plan"]);
    expect(sql.code).toBe(1);
    expect(sql.stderr).toContain("model b: the database refused its SQL");
    expect(sql.stderr).toMatch(/NOPE/);
    await nothingWritten(dir, emu);
  });

  it("the connection lost mid-plan (while the rows arrive) is a located error; nothing is written", async () => {
    const emu = await start();
    const cut = await relay(fs.url, 60_000);
    try {
      const { dir, schema } = await failingProject(emu.url, { source: (s) => snowflakeSourceYaml(cut.url, s, "    request_timeout: 3s\n") });
      await replaceSnowflakeMembers(fs, schema, "members_a", ids(25_000));
      const result = await coho(dir, ["plan"]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/source wh: the connection to Snowflake at http:\/\/127\.0\.0\.1:\d+ was lost while models\.a ran/);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      await nothingWritten(dir, emu);
    } finally {
      await cut.close();
    }
  });
});

/** The 1-based line of the first line of a file holding `text`. */
function lineOf(file: string, text: string): number {
  return readFileSync(file, "utf8").split("\n").findIndex((line) => line.includes(text)) + 1;
}

/** A TCP relay to the stand-in that, once `cutAfterBytes` bytes of answers have passed, drops every connection then and later: the network going away mid-plan. */
async function relay(target: string, cutAfterBytes: number) {
  const upstream = new URL(target);
  let answered = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    if (answered > cutAfterBytes) return client.destroy();
    const backend = connect(Number(upstream.port), upstream.hostname);
    sockets.add(client).add(backend);
    client.on("data", (chunk: Buffer) => backend.write(chunk));
    backend.on("data", (chunk: Buffer) => {
      answered += chunk.length;
      if (answered > cutAfterBytes) {
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
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
