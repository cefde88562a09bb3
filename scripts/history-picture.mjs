#!/usr/bin/env node
// Regenerates docs/images/history-report.png, the picture of `coho history --html`
// that the docs show: a throwaway project, eight real applies against the local
// Braze emulator (on a free port), the report written by the built coho, and a
// screenshot taken by headless Chromium (Debian's `chromium`) with the network off.
// Run: npm run build && npm run docs:history-picture
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startEmulator } from "../dist/emulator/server.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const coho = join(repo, "bin", "coho.js");
const parent = mkdtempSync(join(tmpdir(), "coho-history-picture-"));
// The report is titled by the project folder's name.
const dir = join(parent, "shop-audiences");
mkdirSync(dir);
const emulator = await startEmulator({ port: 0 });
const env = { ...process.env, BRAZE_PARTNER_API_KEY: "emulator-partner-key", BRAZE_DATA_IMPORT_KEY: "emulator-data-import-key", NO_COLOR: "1" };
try {
  writeFileSync(join(dir, "coho.yaml"), `version: 1
destinations:
  braze: { type: braze_cohorts, rest_endpoint: "${emulator.url}", partner: coho-emulator, partner_api_key: "\${env:BRAZE_PARTNER_API_KEY}", data_import_key: "\${env:BRAZE_DATA_IMPORT_KEY}" }
models:
  buyers: { sql: "select user_id from read_csv('buyers.csv', columns = {'user_id': 'VARCHAR'})" }
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  recent_buyers: { name: Recent buyers, destination: braze, model: buyers, identifier: user_id, guards: { max_removals: 100% } }
`);
  // A cohort that grows week on week, with one unusual drop: a window of ids sliding forward.
  const weeks = [[0, 1200], [150, 1500], [300, 1850], [420, 2100], [900, 1700], [1000, 2250], [1100, 2600], [1180, 2900]];
  for (const [from, to] of weeks) {
    const ids = Array.from({ length: to - from }, (_, i) => `u${String(from + i).padStart(6, "0")}`);
    writeFileSync(join(dir, "buyers.csv"), `user_id\n${ids.join("\n")}\n`);
    await run(["apply", "--auto-approve"]);
  }
  const html = join(dir, "report.html");
  await run(["history", "--html", html]);
  const { chromium } = await import("playwright-core");
  const executablePath = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
  if (!executablePath) throw new Error("Debian's chromium is needed: apt-get install chromium");
  const browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--proxy-server=127.0.0.1:9"] });
  const page = await browser.newPage({ viewport: { width: 820, height: 1100 }, deviceScaleFactor: 1 });
  await page.goto(pathToFileURL(html).href);
  mkdirSync(join(repo, "docs", "images"), { recursive: true });
  await page.screenshot({ path: join(repo, "docs", "images", "history-report.png"), fullPage: false });
  await browser.close();
  console.log("Wrote docs/images/history-report.png");
} finally {
  await emulator.close();
  rmSync(parent, { recursive: true, force: true });
}

/** The built coho on the project; the emulator lives in this process, so the child runs asynchronously. */
function run(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [coho, "-C", dir, ...args], { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`coho ${args.join(" ")} exited ${code}: ${stderr}`))));
  });
}
