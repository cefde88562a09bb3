import { Option } from "commander";
import { DiagnosticsError, UsageError } from "../model/errors.js";
import { diagnosticsJson } from "../render/diagnostics.js";
import type { OperationEvent } from "../operations/events.js";
import { errorEvent, eventLine } from "../render/events-ndjson.js";
import type { CommandContext } from "./context.js";

export type OutputFormat = "text" | "json" | "markdown" | "ndjson";

/** `--output FORMAT`; the older `--json` and `--markdown` stay as its shorthands. */
export function outputOption(formats: readonly OutputFormat[]): Option {
  return new Option("--output <format>", "how to print; ndjson: one JSON event per line as it happens, the report last").choices(formats).default("text" satisfies OutputFormat);
}

export function chooseFormat(flags: { output?: OutputFormat; json?: boolean; markdown?: boolean }): OutputFormat {
  const explicit = flags.output === "text" ? undefined : flags.output;
  const chosen = [explicit, flags.json ? "json" : undefined, flags.markdown ? "markdown" : undefined].filter((f): f is OutputFormat => f !== undefined);
  if (new Set(chosen).size > 1) throw new UsageError(`choose one output format, not ${[...new Set(chosen)].join(" and ")}`);
  return chosen[0] ?? "text";
}

/**
 * With --json, stdout always carries JSON, even when the command fails: the
 * diagnostics of an invalid configuration (the `validate --json` shape), or what
 * `failure(error)` makes of any other error. The error then goes on to the usual
 * stderr message and exit code.
 */
export async function withJsonFailure<T>(ctx: CommandContext, format: OutputFormat, failure: (error: unknown) => object, work: () => Promise<T>): Promise<T> {
  if (format !== "json") return work();
  try {
    return await work();
  } catch (error) {
    const json = error instanceof DiagnosticsError ? diagnosticsJson(error.diagnostics, ctx.io.cwd) : failure(error);
    ctx.output.out(JSON.stringify(json, null, 2));
    throw error;
  }
}

/**
 * With --output ndjson: runs `work` with a sink writing each event as a line on
 * stdout; if it throws, an `error` line ends the stream before the error goes on
 * to the usual stderr message and exit code. Otherwise runs it without a sink.
 */
export async function withEventStream<T>(ctx: CommandContext, format: OutputFormat, work: (sink: ((event: OperationEvent) => void) | undefined) => Promise<T>): Promise<T> {
  if (format !== "ndjson") return work(undefined);
  try {
    return await work((event) => ctx.output.out(eventLine(event)));
  } catch (error) {
    ctx.output.out(eventLine(errorEvent(error, ctx.io.cwd)));
    throw error;
  }
}
