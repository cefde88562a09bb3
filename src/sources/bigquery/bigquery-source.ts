import { randomUUID } from "node:crypto";
import type { BigQuery, Job, JobMetadata, Query } from "@google-cloud/bigquery";
import { CohoError } from "../../model/errors.js";
import type { BigQuerySourceConfig, ModelConfig } from "../../model/project.js";
import { DEFAULT_BATCH_SIZE, modelQuery, type ColumnInfo, type ColumnKind, type RowBatch, type Source } from "../source.js";
import { openBigQuery } from "./bigquery-client.js";
import { formatBytes } from "../../model/bytes.js";
import { bigQueryModelError } from "./bigquery-errors.js";
import { jobLabels } from "./job-labels.js";

/** BigQuery's names for the types coho accepts as identifiers (legacy and standard spellings). */
const TYPE_KINDS: Readonly<Record<string, ColumnKind>> = { STRING: "text", INTEGER: "integer", INT64: "integer" };

/** What a dry run told about one query coho ran. */
export interface DryRunBytes {
  readonly model: string;
  readonly bytes: number;
}

/** One page of a query's result, BigQuery's REST form: each row's cells under `f`, each value under `v`. */
interface RestRow {
  readonly f: readonly { readonly v: unknown }[];
}

/**
 * A BigQuery source. Each model runs as one query job with coho's labels and the
 * byte cap, after a dry run that gives its columns and the bytes it will process
 * (the plan's cost line). Rows come back a page at a time (`maxResults` +
 * `pageToken`), so memory stays flat for any result size. Only the columns coho
 * reads are selected: BigQuery bills by the columns a query reads.
 */
export class BigQuerySource implements Source {
  readonly type = "bigquery";
  readonly name: string;
  readonly config: BigQuerySourceConfig;
  readonly #cohortsOf: (model: string) => readonly string[];
  #client: BigQuery | undefined;
  /** Whether any request of this source got an answer: a later network failure is a lost connection. */
  #answered = false;
  readonly #dryRuns: DryRunBytes[] = [];

  constructor(config: BigQuerySourceConfig, cohortsOf: (model: string) => readonly string[] = () => []) {
    this.name = config.name;
    this.config = config;
    this.#cohortsOf = cohortsOf;
  }

  /** The dry runs of the queries this source ran so far (the plan's cost line). */
  processed(): { bytes: number; queries: number } | undefined {
    if (this.#dryRuns.length === 0) return undefined;
    return { bytes: this.#dryRuns.reduce((n, d) => n + d.bytes, 0), queries: this.#dryRuns.length };
  }

  async describe(model: ModelConfig): Promise<ColumnInfo[]> {
    const query = modelQuery(model);
    const dry = await this.#dryRun(model, query, 0);
    let fields = dry.statistics?.query?.schema?.fields;
    if (fields === undefined) {
      // BigQuery's dry runs always carry the result's schema; the emulator's do not.
      // Learn it from an empty result instead (on BigQuery this path never runs:
      // LIMIT does not reduce the bytes a query bills).
      const page = await this.#firstPage(model, `SELECT * FROM (\n${query}\n) AS coho_model LIMIT 0`, 1);
      fields = page.schema;
    }
    return (fields ?? []).map((f) => {
      const type = String(f.type ?? "").toUpperCase();
      const repeated = f.mode === "REPEATED";
      return { name: String(f.name), kind: repeated ? "other" : (TYPE_KINDS[type] ?? "other"), typeName: repeated ? `ARRAY<${type}>` : type };
    });
  }

  async *stream(model: ModelConfig, batchSize = DEFAULT_BATCH_SIZE, columns?: readonly string[]): AsyncIterable<RowBatch> {
    const q = (name: string) => `\`${name.replace(/[`\\]/g, "\\$&")}\``;
    const wrapped = columns !== undefined && columns.length > 0;
    const sql = wrapped ? `SELECT ${columns.map(q).join(", ")} FROM (\n${modelQuery(model)}\n) AS coho_model` : modelQuery(model);
    const lineOffset = wrapped ? 1 : 0;
    const dry = await this.#dryRun(model, sql, lineOffset);
    const bytes = Number(dry.statistics?.totalBytesProcessed ?? 0);
    this.#dryRuns.push({ model: model.name, bytes });
    this.#checkCap(model, bytes);
    const job = await this.#createJob(model, sql, lineOffset, false);
    let pageToken: string | undefined;
    let done = false;
    try {
      for (;;) {
        const page = await this.#page(model, job, batchSize, pageToken, lineOffset);
        const names = (page.schema ?? []).map((f) => String(f.name));
        if (page.rows.length > 0) yield { columns: names, rows: page.rows.map((r) => r.f.map((cell) => cell.v ?? null)) };
        pageToken = page.pageToken;
        if (page.complete && pageToken === undefined) break;
      }
      done = true;
    } finally {
      // The consumer stopped early or a page failed: the job is of no further use.
      if (!done) await job.cancel().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.#client = undefined;
  }

  #connect(): BigQuery {
    this.#client ??= openBigQuery(this.config);
    return this.#client;
  }

  #checkCap(model: ModelConfig, bytes: number): void {
    const cap = this.config.maximumBytesBilled;
    if (cap === undefined || bytes <= cap) return;
    throw new CohoError("source.bytes_limit", `model ${model.name}: its dry run shows ${formatBytes(bytes)} to process, over sources.${this.name}.maximum_bytes_billed (${formatBytes(cap)}); nothing ran`, {
      location: model.sqlOrigin,
      hint: `read fewer bytes (select fewer columns, filter on the partitioning column) or raise sources.${this.name}.maximum_bytes_billed`,
    });
  }

  #jobConfig(model: ModelConfig, sql: string, dryRun: boolean): Query {
    return {
      query: sql,
      useLegacySql: false,
      defaultDataset: { projectId: this.config.project, datasetId: this.config.dataset },
      labels: jobLabels(this.name, model.name, this.#cohortsOf(model.name)),
      // A client-made ID: inserting the job again after a lost answer cannot start a second one.
      jobId: `coho_${model.name}_${randomUUID().replace(/-/g, "")}`,
      ...(this.config.location ? { location: this.config.location } : {}),
      ...(this.config.maximumBytesBilled !== undefined ? { maximumBytesBilled: String(this.config.maximumBytesBilled) } : {}),
      ...(dryRun ? { dryRun: true } : {}),
    };
  }

  async #createJob(model: ModelConfig, sql: string, lineOffset: number, dryRun: boolean): Promise<Job> {
    try {
      const [job] = await this.#connect().createQueryJob(this.#jobConfig(model, sql, dryRun));
      this.#answered = true;
      return job;
    } catch (error) {
      throw bigQueryModelError(this.config, model, error, { lineOffset, answered: this.#answered });
    }
  }

  async #dryRun(model: ModelConfig, sql: string, lineOffset: number): Promise<JobMetadata> {
    const job = await this.#createJob(model, sql, lineOffset, true);
    return job.metadata as JobMetadata;
  }

  async #firstPage(model: ModelConfig, sql: string, size: number) {
    const job = await this.#createJob(model, sql, 0, false);
    for (;;) {
      const page = await this.#page(model, job, size, undefined, 0);
      if (page.complete) return page;
    }
  }

  /** One page of a job's result; `complete` is false while the job still runs (BigQuery then answers with no rows). */
  async #page(model: ModelConfig, job: Job, size: number, pageToken: string | undefined, lineOffset: number) {
    try {
      const [rows, , response] = await job.getQueryResults({ maxResults: size, autoPaginate: false, skipParsing: true, ...(pageToken ? { pageToken } : {}) } as never);
      this.#answered = true;
      const answer = (response ?? {}) as { schema?: { fields?: { name?: string; type?: string; mode?: string }[] }; pageToken?: string; jobComplete?: boolean };
      return { rows: (rows ?? []) as unknown as RestRow[], schema: answer.schema?.fields, pageToken: answer.pageToken || undefined, complete: answer.jobComplete !== false };
    } catch (error) {
      throw bigQueryModelError(this.config, model, error, { lineOffset, answered: this.#answered });
    }
  }
}
