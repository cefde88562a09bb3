#!/usr/bin/env node
// A second front end on the library, for the apply suites: it runs
// `apply()` from dist/index.js the way `coho -C DIR [--lock-timeout D] apply [PLAN]
// [--auto-approve] [--json] [--target A]… [--allow-removals]` would, and prints
// with the same renderers. Signals become an AbortSignal; the exit code follows
// the outcome. Everything else (plan, show, state) the suites run with the binary.
import { parseArgs } from "node:util";
import kleur from "kleur";
import { apply } from "../../dist/index.js";
import { renderApplyEvent } from "../../dist/render/apply-events.js";
import { renderApplyReport } from "../../dist/render/apply-report.js";

kleur.enabled = false;
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    dir: { type: "string", short: "C", default: "." },
    "lock-timeout": { type: "string", default: "0" },
    "auto-approve": { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    target: { type: "string", multiple: true, default: [] },
    "allow-removals": { type: "boolean", default: false },
  },
});
const [command, planFile] = positionals;
if (command !== "apply") throw new Error(`api-apply.mjs runs apply only, not ${command}`);

const seconds = /^(\d+)s?$/.exec(values["lock-timeout"]);
const int = (name) => (process.env[name] ? Number(process.env[name]) : undefined);
const retry = { maxAttempts: int("COHO_RETRY_MAX_ATTEMPTS"), baseDelayMs: int("COHO_RETRY_BASE_DELAY_MS") };
const controller = new AbortController();
let stoppedBy;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    if (stoppedBy) return;
    stoppedBy = signal;
    if (!values.json) process.stderr.write(`\n${signal}: finishing requests in flight and saving state; no new requests start.\n`);
    controller.abort(signal);
  });
}

const write = (stream, text) => (stream === "out" ? process.stdout : process.stderr).write(`${text}\n`);
try {
  const result = await apply(values.dir, {
    ...(planFile ? { planFile } : {}),
    ...(values["auto-approve"] ? { autoApprove: true } : {}),
    targets: values.target.map((t) => (t.startsWith("cohorts.") ? t : `cohorts.${t}`)),
    allowRemovals: values["allow-removals"],
    signal: controller.signal,
    lockTimeoutMs: seconds ? Number(seconds[1]) * 1000 : 0,
    tuning: {
      ...(int("COHO_CONCURRENCY") ? { concurrency: int("COHO_CONCURRENCY") } : {}),
      ...(retry.maxAttempts || retry.baseDelayMs ? { retry: Object.fromEntries(Object.entries(retry).filter(([, v]) => v !== undefined)) } : {}),
    },
    onEvent: (event) => {
      const line = values.json ? undefined : renderApplyEvent(event);
      if (line) write(line.stream, line.text);
    },
  });
  if (result.report && values.json) write("out", JSON.stringify(result.report, null, 2));
  else if (result.report && result.outcome !== "no_changes") write("out", `\n${renderApplyReport(result.report)}`);
  const exit = { applied: 0, no_changes: 0, blocked: 1, cancelled: 1, failed: 1, interrupted: stoppedBy === "SIGTERM" ? 143 : 130 };
  process.exitCode = exit[result.outcome];
} catch (error) {
  if (!(error instanceof Error) || typeof error.code !== "string") throw error;
  write("err", `error: ${error.message}`);
  if (error.hint) write("err", `hint: ${error.hint}`);
  for (const d of error.diagnostics ?? []) write("err", `${d.code}: ${d.message}`);
  process.exitCode = 1;
}
