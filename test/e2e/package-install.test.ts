import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/fixtures.js";
import { freePort } from "../helpers/postgres-cluster.js";

/**
 * The package as a user gets it: `npm pack` in a copy of the repository without
 * dist/ (so the tarball's build can only come from `prepack`), then
 * `npm install --global` of the tarball into an empty prefix, then the installed
 * `coho` on a new project against its own emulator.
 */
const PACKAGE = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string; devDependencies: Record<string, string>; peerDependencies: Record<string, string> };
const work = mkdtempSync(join(tmpdir(), "coho-package-"));
const copy = join(work, "coho");
const prefix = join(work, "prefix");
const tarball = join(work, `coho-${PACKAGE.version}.tgz`);
const bin = join(prefix, "bin", "coho");
let packLog = "";
let installLog = "";

/**
 * What npm needs from the environment: its cache (installs work offline once npm ci
 * filled it) and the machine's way to the registry (a proxy, and the certificate
 * authority of a proxy that inspects TLS). Nothing else: `npm test`'s own npm_config_*
 * (prefix, global) must not steer the install. On a fresh machine the cache lacks the
 * registry's package documents (npm ci reads only the lockfile), so the global
 * install goes to the registry, and without the machine's CA it retried every package
 * for minutes (445 s once) before getting through.
 */
const NPM_NETWORK_ENV = ["npm_config_cache", "npm_config_registry", "npm_config_cafile", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"];
function npm(args: string[], cwd: string): { code: number | null; log: string } {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" };
  for (const name of NPM_NETWORK_ENV) if (process.env[name]) env[name] = process.env[name]!;
  const result = spawnSync("npm", args, { cwd, env, encoding: "utf8" });
  return { code: result.status, log: `${result.stdout}${result.stderr}` };
}

function coho(args: string[], env: Record<string, string> = {}, cwd = work) {
  const result = spawnSync(bin, args, { cwd, env: { PATH: `${join(prefix, "bin")}:${process.env.PATH ?? ""}`, HOME: work, NO_COLOR: "1", ...env }, encoding: "utf8" });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

beforeAll(() => {
  mkdirSync(copy);
  for (const entry of ["src", "scripts", "bin", "schema", "examples", "package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json", "README.md", "CHANGELOG.md"]) {
    cpSync(join(REPO_ROOT, entry), join(copy, entry), { recursive: true });
  }
  symlinkSync(join(REPO_ROOT, "node_modules"), join(copy, "node_modules"), "dir"); // the build's tools (tsc, esbuild), not packed
  const pack = npm(["pack", "--pack-destination", work], copy);
  packLog = pack.log;
  expect(pack.code, pack.log).toBe(0);
  mkdirSync(prefix);
  const install = npm(["install", "--global", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", tarball], work);
  installLog = install.log;
  expect(install.code, install.log).toBe(0);
}, 600_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the package (npm pack, then npm install --global of the tarball)", () => {
  it("is built when packed (prepack), never when installed: no build or install script runs on install", () => {
    expect(packLog).toContain("prepack");
    const listing = spawnSync("tar", ["-tzf", tarball], { encoding: "utf8" }).stdout.split("\n");
    for (const file of ["package/bin/coho.js", "package/dist/bundle/coho.cjs", "package/dist/index.js", "package/dist/index.d.ts", "package/schema/coho.schema.json", "package/CHANGELOG.md", "package/README.md"]) {
      expect(listing, file).toContain(file);
    }
    expect(listing.filter((f) => f.startsWith("package/src/") || f.endsWith(".map"))).toEqual([]);
    const packed = JSON.parse(spawnSync("tar", ["-xzOf", tarball, "package/package.json"], { encoding: "utf8" }).stdout) as { scripts: Record<string, string> };
    for (const hook of ["preinstall", "install", "postinstall", "prepare"]) expect(packed.scripts[hook], hook).toBeUndefined();
    expect(installLog).not.toMatch(/warn|install-scripts|prepack|tsc|esbuild|> coho@/i);
  });

  it("installs without dev dependencies", () => {
    const installed = join(prefix, "lib", "node_modules", "coho");
    expect(existsSync(join(installed, "dist", "bundle", "coho.cjs"))).toBe(true);
    const modules = readdirSync(join(installed, "node_modules"));
    expect(Object.keys(PACKAGE.devDependencies).filter((name) => modules.includes(name.split("/")[0]!) && existsSync(join(installed, "node_modules", name)))).toEqual([]);
  });

  it("runs coho --version and coho version from package.json's version", () => {
    expect(coho(["--version"])).toEqual({ code: 0, out: `coho ${PACKAGE.version}\n` });
    expect(coho(["version"]).out).toBe(`coho ${PACKAGE.version}\n`);
  });

  it("installs no warehouse driver; a warehouse source then names the package to install, and finds it once installed next to coho", () => {
    const installed = join(prefix, "lib", "node_modules");
    expect(existsSync(join(installed, "coho", "node_modules", "snowflake-sdk"))).toBe(false);
    expect(existsSync(join(installed, "coho", "node_modules", "@google-cloud", "bigquery"))).toBe(false);
    const project = join(work, "warehouse");
    mkdirSync(project);
    writeFileSync(
      join(project, "coho.yaml"),
      `version: 1
sources:
  wh: { type: snowflake, account: xy12345, user: COHO, password: "\${env:SNOWFLAKE_PASSWORD}", warehouse: WH, database: DB, schema: S, access_url: "http://127.0.0.1:9" }
destinations:
  braze: { type: braze_attributes, rest_endpoint: "http://127.0.0.1:9", api_key: "\${env:K}" }
models:
  m: { source: wh, sql: select user_id from members }
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  c: { name: C, destination: braze, model: m, identifier: user_id, attribute: coho_c }
`,
    );
    const env = { SNOWFLAKE_PASSWORD: "pw-0123456789", K: "k" };
    const missing = coho(["-C", project, "plan"], env);
    expect(missing.code, missing.out).toBe(1);
    expect(missing.out).toContain("a source of type snowflake needs the snowflake-sdk package, which is not installed next to coho");
    expect(missing.out).toContain(`npm install --global "snowflake-sdk@${PACKAGE.peerDependencies["snowflake-sdk"]}"`);
    expect(missing.out).not.toMatch(/^\s+at /m);
    // Installed next to coho (here: the suite's own copy, linked into the same global prefix), it loads:
    // the plan now fails on the connection (nothing listens on port 9), not on the package.
    symlinkSync(join(REPO_ROOT, "node_modules", "snowflake-sdk"), join(installed, "snowflake-sdk"), "dir");
    const found = coho(["-C", project, "plan"], env);
    expect(found.code, found.out).toBe(1);
    expect(found.out).not.toContain("not installed next to coho");
    expect(found.out).not.toContain("pw-0123456789");
  });

  it("runs coho init, coho validate, and a plan and apply against its own emulator", async () => {
    expect(coho(["init", "project"]).code).toBe(0);
    const project = join(work, "project");
    expect(coho(["-C", project, "validate"])).toMatchObject({ code: 0 });
    const port = String(await freePort());
    const emulator = spawn(bin, ["emulator"], { env: { PATH: process.env.PATH ?? "", COHO_EMULATOR_PORT: port } });
    try {
      await new Promise<void>((resolve, reject) => {
        let out = "";
        emulator.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes("listening on")) resolve();
        });
        emulator.on("exit", () => reject(new Error(`emulator exited: ${out}`)));
      });
      const plan = coho(["-C", project, "plan", "--detailed-exitcode"], { COHO_EMULATOR_PORT: port });
      expect(plan.code, plan.out).toBe(2);
      expect(plan.out).toMatch(/Plan: \d+ to create/);
      const apply = coho(["-C", project, "apply", "--auto-approve"], { COHO_EMULATOR_PORT: port });
      expect(apply.code, apply.out).toBe(0);
      expect(coho(["-C", project, "plan", "--detailed-exitcode"], { COHO_EMULATOR_PORT: port }).code).toBe(0);
    } finally {
      emulator.kill("SIGINT");
    }
  });
});
