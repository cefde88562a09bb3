import { createServer, type IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { withoutProgress } from "../helpers/cli.js";
import { emulators } from "../helpers/emulator.js";
import { brazeByName, coho, ids, keysOf } from "../helpers/apply-project.js";
import { bigQueryEmulatorPerFile, bigQuerySourceYaml, bigQueryUrl, createDataset, replaceMembers } from "../helpers/bigquery.js";
import { destinationEntry, writeProject } from "../helpers/project.js";

/**
 * What coho's BigQuery client does on the wire that the emulator alone cannot show:
 * an HTTP proxy in front of the run's emulator records each request and answers the
 * first `failFirst` job requests with BigQuery's documented transient error (503
 * backendError), as BigQuery does under load.
 */
async function proxy(target: string, failFirst: number) {
  const upstream = new URL(target);
  const seen: { method: string; path: string; body: string; status: number }[] = [];
  let failures = 0;
  const server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const path = req.url ?? "/";
    if (req.method === "POST" && /\/jobs|\/queries/.test(path) && failures < failFirst) {
      failures += 1;
      seen.push({ method: req.method, path, body, status: 503 });
      res.writeHead(503, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: 503, message: "The service is currently unavailable.", errors: [{ reason: "backendError", message: "The service is currently unavailable." }], status: "UNAVAILABLE" } }));
      return;
    }
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !["host", "connection", "content-length", "transfer-encoding"].includes(k))) as Record<string, string>;
    const answer = await fetch(new URL(path, upstream), { method: req.method, headers, ...(body && req.method !== "GET" ? { body } : {}) });
    const text = await answer.text();
    seen.push({ method: req.method ?? "", path, body, status: answer.status });
    res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/json" });
    res.end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const start = emulators();
bigQueryEmulatorPerFile();

describe("the BigQuery client on the wire (a proxy in front of the emulator)", () => {
  it("retries BigQuery's transient 503s and completes the apply; every job names the configured location", async () => {
    const emu = await start();
    const dataset = await createDataset("wire");
    await replaceMembers(dataset, "members", ids(120));
    const tap = await proxy(bigQueryUrl(), 2);
    try {
      const dir = writeProject({
        "coho.yaml": `version: 1
${bigQuerySourceYaml(dataset, "    location: US\n", tap.url)}destinations:
${destinationEntry("braze", emu.url)}models:
  a:
    source: wh
    sql: select user_id from \`${dataset}.members\`
identifiers:
  user_id: { type: external_id, column: user_id }
cohorts:
  alpha: { name: Alpha, destination: braze, model: a, identifier: user_id }
`,
      });
      const applied = await coho(dir, ["apply", "--auto-approve"]);
      expect(applied.code, applied.stdout + applied.stderr).toBe(0);
      expect(withoutProgress(applied.stderr)).toBe("");
      expect(await brazeByName(emu)).toEqual({ Alpha: keysOf(ids(120)) });
      // Both injected failures were answered, and the same job requests went through afterwards.
      const failed = tap.seen.filter((r) => r.status === 503);
      expect(failed).toHaveLength(2);
      const retried = tap.seen.filter((r) => r.status !== 503 && r.method === "POST" && /\/jobs|\/queries/.test(r.path));
      expect(retried.length).toBeGreaterThan(0);
      expect(retried.some((r) => r.body === failed[0]!.body)).toBe(true);
      // location reaches every job request (BigQuery runs the job there, and refuses it elsewhere).
      const jobs = tap.seen.filter((r) => r.method === "POST" && /\/jobs|\/queries/.test(r.path));
      for (const job of jobs) expect(job.body, job.path).toMatch(/"location":"US"/);
    } finally {
      await tap.close();
    }
  }, 120_000);
});
