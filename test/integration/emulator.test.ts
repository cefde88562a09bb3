import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/server.js";
import { COHO_BIN } from "../helpers/cli.js";
import { emulator, emulators, getJson, members, postJson, requestLog } from "../helpers/emulator.js";

const start = emulators();

const AUTH = { partner_api_key: "emulator-partner-key", client_secret: "emulator-data-import-key" };
const CREATE = { ...AUTH, cohort_id: "c1", name: "One", created_at: "2021-01-21T19:20:30+05:00" };
const CHANGE_MESSAGE =
  "`cohort_changes` must be an array of objects each with key `user_ids` and/or `device_ids` mapping to an array of strings, or an `aliases` object";

describe("the emulator answers as Braze documents", () => {
  const cases: [string, string, Record<string, unknown>, number, string][] = [
    ["create", "cohorts", CREATE, 201, "success"],
    ["wrong partner key", "cohorts", { ...CREATE, partner_api_key: "nope" }, 401, "Invalid Partner API key"],
    ["missing partner key", "cohorts", { ...CREATE, partner_api_key: undefined }, 401, "Invalid Partner API key"],
    ["wrong data import key", "cohorts", { ...CREATE, client_secret: "nope" }, 401, "Invalid client secret"],
    ["missing cohort_id", "cohorts", { ...CREATE, cohort_id: undefined }, 400, "`cohort_id` must be a valid string"],
    ["numeric cohort_id", "cohorts/users", { ...AUTH, cohort_id: 5, cohort_changes: [] }, 400, "`cohort_id` must be a valid string"],
    ["empty name", "cohorts", { ...CREATE, name: "" }, 400, "`name` must be a non-empty string"],
    ["bad created_at", "cohorts", { ...CREATE, created_at: "yesterday" }, 400, "`created_at` must be a valid time as an ISO-8601 string"],
    ["created_at without offset", "cohorts", { ...CREATE, created_at: "2021-01-21 19:20:30" }, 400, "`created_at` must be a valid time as an ISO-8601 string"],
    ["empty changes (credential test)", "cohorts/users", { ...AUTH, cohort_id: "c1", cohort_changes: [] }, 200, "success"],
    ["changes not an array", "cohorts/users", { ...AUTH, cohort_id: "c1", cohort_changes: {} }, 400, CHANGE_MESSAGE],
    ["entry without ids", "cohorts/users", { ...AUTH, cohort_id: "c1", cohort_changes: [{ should_remove: true }] }, 400, CHANGE_MESSAGE],
    ["numbers as ids", "cohorts/users", { ...AUTH, cohort_id: "c1", cohort_changes: [{ user_ids: [1, 2] }] }, 400, CHANGE_MESSAGE],
    ["alias without label", "cohorts/users", { ...AUTH, cohort_id: "c1", cohort_changes: [{ aliases: [{ alias_name: "a" }] }] }, 400, CHANGE_MESSAGE],
    ["unknown key in entry", "cohorts/users", { ...AUTH, cohort_id: "c1", cohort_changes: [{ emails: ["a"] }] }, 400, CHANGE_MESSAGE],
    [
      "1,001 identifiers across entries",
      "cohorts/users",
      { ...AUTH, cohort_id: "c1", cohort_changes: [{ user_ids: ids(600) }, { device_ids: ids(401), should_remove: true }] },
      400,
      "Only 1,000 `user_ids`, `device_ids`, and `aliases` are allowed per request",
    ],
    ["1,000 identifiers across entries", "cohorts/users", { ...AUTH, cohort_id: "c1", cohort_changes: [{ user_ids: ids(600) }, { aliases: aliases(400) }] }, 200, "success"],
  ];

  it.each(cases)("%s", async (_, endpoint, body, status, message) => {
    const emu = await start();
    const response = await postJson(`${emu.url}/partners/coho-emulator/${endpoint}`, body);
    expect(response.status).toBe(status);
    expect(response.body).toEqual({ message });
  });

  it("answers 401 naming the client secret when the partner is not enabled, and 423 when locked", async () => {
    const emu = await start();
    const other = await postJson(`${emu.url}/partners/someone-else/cohorts`, CREATE);
    expect(other.status).toBe(401);
    expect(other.body.message).toBe("Partner not enabled for client with client secret: emulator-data-import-key");
    await postJson(`${emu.url}/_emulator/config`, { locked: true });
    const locked = await postJson(`${emu.url}/partners/coho-emulator/cohorts`, CREATE);
    expect(locked).toMatchObject({ status: 423, body: { message: "Resource locked" } });
  });

  it("upserts names by cohort_id and keeps the first created_at", async () => {
    const emu = await start();
    await postJson(`${emu.url}/partners/coho-emulator/cohorts`, CREATE);
    await postJson(`${emu.url}/partners/coho-emulator/cohorts`, { ...CREATE, name: "Renamed", created_at: "2022-01-01T00:00:00Z" });
    const { cohorts } = await getJson<{ cohorts: unknown[] }>(`${emu.url}/_emulator/cohorts`);
    expect(cohorts).toEqual([{ cohort_id: "c1", name: "Renamed", created_at: CREATE.created_at, member_count: 0 }]);
  });

  it("never records credentials in its request log", async () => {
    const emu = await start();
    await postJson(`${emu.url}/partners/coho-emulator/cohorts`, CREATE);
    const text = JSON.stringify(await requestLog(emu));
    expect(text).not.toContain(AUTH.partner_api_key);
    expect(text).not.toContain(AUTH.client_secret);
  });
});

describe("membership semantics", () => {
  const change = (emu: RunningEmulator, entry: Record<string, unknown>) =>
    postJson(`${emu.url}/partners/coho-emulator/cohorts/users`, { ...AUTH, cohort_id: "c1", cohort_changes: [entry] });

  it("is idempotent: adding twice or removing a non-member changes nothing", async () => {
    const emu = await start();
    await change(emu, { user_ids: ["a", "b"] });
    await change(emu, { user_ids: ["a", "b"] });
    await change(emu, { user_ids: ["zz"], should_remove: true });
    expect(await members(emu, "c1")).toEqual(["external_id:a", "external_id:b"]);
  });

  it("ignores unknown users, and device ids of identified users, when it knows the workspace", async () => {
    const emu = await start({
      users: [
        { externalId: "u1", aliases: [{ label: "email", name: "u1@x.io" }], deviceIds: ["d-of-u1"] },
        { externalId: "u2" },
        { deviceIds: ["anon-1"] },
      ],
    });
    await change(emu, { user_ids: ["u2", "stranger"], device_ids: ["d-of-u1", "anon-1", "unknown-device"] });
    expect(await members(emu, "c1")).toEqual(["device_id:anon-1", "external_id:u2"]);
    // The alias finds the same person as the external id: one member, removable either way.
    await change(emu, { aliases: [{ alias_name: "u1@x.io", alias_label: "email" }] });
    expect(await members(emu, "c1")).toEqual(["device_id:anon-1", "external_id:u1", "external_id:u2"]);
    await change(emu, { user_ids: ["u1"], should_remove: true });
    await change(emu, { device_ids: ["d-of-u1"], should_remove: true });
    expect(await members(emu, "c1")).toEqual(["device_id:anon-1", "external_id:u2"]);
  });

  it("keeps aliases whose label holds a colon apart: {a:b, c} and {a, b:c} are two members", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "coho-emu-")), "state.json");
    const first = await emulator({ statePath: path });
    await change(first, { aliases: [{ alias_label: "a:b", alias_name: "c" }, { alias_label: "a", alias_name: "b:c" }] });
    const count = async (emu: typeof first) => (await getJson<{ cohorts: { member_count: number }[] }>(`${emu.url}/_emulator/cohorts`)).cohorts[0]?.member_count;
    expect(await count(first)).toBe(2);
    // Removing one leaves the other.
    await change(first, { aliases: [{ alias_label: "a", alias_name: "b:c" }], should_remove: true });
    expect(await count(first)).toBe(1);
    await change(first, { aliases: [{ alias_label: "a", alias_name: "b:c" }] });
    await first.close();
    const second = await start({ statePath: path });
    expect(await count(second)).toBe(2);
    await change(second, { aliases: [{ alias_label: "a:b", alias_name: "c" }], should_remove: true });
    expect(await count(second)).toBe(1);
  });

  it("keeps cohorts across restarts with --state, written atomically", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "coho-emu-")), "state.json");
    const first = await emulator({ statePath: path });
    await postJson(`${first.url}/partners/coho-emulator/cohorts`, CREATE);
    await change(first, { user_ids: ["a"], device_ids: ["d"] });
    await first.close();
    expect(JSON.parse(readFileSync(path, "utf8"))).toMatchObject({ format: "coho-emulator-state", cohorts: { c1: { name: "One", members: [{ device_id: "d" }, { external_id: "a" }] } } });
    const second = await start({ statePath: path });
    expect(await members(second, "c1")).toEqual(["device_id:d", "external_id:a"]);
  });
});

describe("coho emulator (the command)", () => {
  it("prints its URL and credentials, serves, and stops cleanly on Ctrl-C", async () => {
    const dir = mkdtempSync(join(tmpdir(), "coho-emu-cli-"));
    writeFileSync(join(dir, "users.json"), JSON.stringify({ users: [{ external_id: "known" }] }));
    const child = spawn(process.execPath, [COHO_BIN, "emulator", "--port", "0", "--users", "users.json", "--state", "state.json"], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "", NO_COLOR: "1" },
    });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
        if (match) resolve(match[1]!);
      });
      child.on("exit", () => reject(new Error(`emulator exited early: ${stderr}`)));
    });
    expect(stdout).toContain(`rest_endpoint: ${url}`);
    expect(stdout).toContain("emulator-partner-key");
    await postJson(`${url}/partners/coho-emulator/cohorts/users`, { ...AUTH, cohort_id: "c", cohort_changes: [{ user_ids: ["known", "unknown"] }] });
    expect((await getJson<{ members: string[] }>(`${url}/_emulator/cohorts/c/members`)).members).toEqual(["external_id:known"]);
    const code = await new Promise<number | null>((resolve) => {
      child.on("close", (c) => resolve(c));
      child.kill("SIGINT");
    });
    expect(code).toBe(0);
    expect(stderr).toContain("Stopped (SIGINT)");
    expect(JSON.parse(readFileSync(join(dir, "state.json"), "utf8")).cohorts.c.members).toEqual([{ external_id: "known" }]);
  });
});

function ids(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `id${i}`);
}

function aliases(n: number): { alias_name: string; alias_label: string }[] {
  return Array.from({ length: n }, (_, i) => ({ alias_name: `a${i}@x.io`, alias_label: "email" }));
}
