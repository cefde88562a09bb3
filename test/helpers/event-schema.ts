import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import { expect } from "vitest";
import { REPO_ROOT } from "./fixtures.js";

const schema = (name: string) => JSON.parse(readFileSync(join(REPO_ROOT, "schema", name), "utf8")) as object;

/**
 * Validates one event against schema/coho-events.schema.json in Ajv's strict mode,
 * given the plan and apply-report schemas it refers to by their $id.
 */
export const validateEvent = new Ajv({ strict: true, allErrors: true })
  .addSchema(schema("coho-plan.schema.json"))
  .addSchema(schema("coho-apply-report.schema.json"))
  .compile(schema("coho-events.schema.json"));

/** Parses NDJSON line by line, checking every line against the schema; returns the events. */
export function parseEventStream(stdout: string): { type: string; [key: string]: unknown }[] {
  expect(stdout.endsWith("\n"), "the stream ends with a newline").toBe(true);
  return stdout
    .slice(0, -1)
    .split("\n")
    .map((line, index) => {
      const event = JSON.parse(line) as { type: string };
      expect(validateEvent(event), `line ${index + 1}: ${line.slice(0, 200)}\n${JSON.stringify(validateEvent.errors)}`).toBe(true);
      return event;
    });
}
