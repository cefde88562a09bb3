import { randomUUID } from "node:crypto";
import type { BigQuery, Job, JobMetadata, Query } from "@google-cloud/bigquery";
import { CohoError } from "../../model/errors.js";
import type { BigQuerySourceConfig, ModelConfig } from "../../model/project.js";
import { DEFAULT_BATCH_SIZE, modelQuery, type ColumnInfo, type ColumnKind, type RowBatch, type Source } from "../source.js";
import type { PushDownTarget, SnapshotHome, SnapshotStore } from "../dialect.js";
import { BigQuerySnapshotStore } from "./bigquery-snapshots.js";
import { openBigQuery } from "./bigquery-client.js";
import { bigQuerySession } from "./bigquery-session.js";
import { BIGQUERY_DIALECT } from "./dialect.js";
import { formatBytes } from "../../model/bytes.js";
import { bigQueryError } from "./bigquery-errors.js";
import { jobLabels } from "./job-labels.js";

/** The dataset of coho's snapshots unless `state.snapshots.schema` names another. */
export const DEFAULT_STATE_DATASET = "coho_state";

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
    const context = { model, lineOffset: 0 };
    const dry = (await this.#createJob(query, context, undefined, true)).metadata as JobMetadata;
    let fields = dry.statistics?.query?.schema?.fields;
    if (fields === undefined) {
      // BigQuery's dry runs always carry the result's schema; the emulator's do not.
      // Learn it from an empty result instead (on BigQuery this path never runs:
      // LIMIT does not reduce the bytes a query bills).
      const page = await this.#firstPage(`SELECT * FROM (\n${query}\n) AS coho_model LIMIT 0`, { model, lineOffset: 1 });
      fields = page.schema;
    }
    return (fields ?? []).map((f) => {
      const type = String(f.type ?? "").toUpperCase();
      const repeated = f.mode === "REPEATED";
      return { name: String(f.name), kind: repeated ? "other" : (TYPE_KINDS[type] ?? "other"), typeName: repeated ? `ARRAY<${type}>` : type };
    });
  }

  async *stream(model: ModelConfig, batchSize = DEFAULT_BATCH_SIZE, columns?: readonly string[]): AsyncIterable<RowBatch> {
    const wrapped = columns !== undefined && columns.length > 0;
    const sql = wrapped ? `SELECT ${columns.map(quote).join(", ")} FROM (\n${modelQuery(model)}\n) AS coho_model` : modelQuery(model);
    let names: string[] = [];
    for await (const page of this.query(sql, { model, pageSize: batchSize, lineOffset: wrapped ? 1 : 0, onSchema: (fields) => (names = fields) })) {
      yield { columns: names, rows: page };
    }
  }

  /**
   * Runs `sql` as one query job (after a dry run: bytes recorded, the cap checked)
   * and yields its rows a page at a time, values as BigQuery's REST API gives them
   * (INT64 as decimal text, never a rounded number). `model`: the model the SQL
   * runs, for located errors and labels.
   */
  async *query(sql: string, options: { model?: ModelConfig; params?: Record<string, unknown>; pageSize: number; lineOffset?: number; onSchema?: (fields: string[]) => void }): AsyncIterable<unknown[][]> {
    const context = { model: options.model, lineOffset: options.lineOffset ?? 0 };
    const dry = await this.#createJob(sql, context, options.params, true);
    const bytes = Number((dry.metadata as JobMetadata).statistics?.totalBytesProcessed ?? 0);
    this.#dryRuns.push({ model: options.model?.name ?? "", bytes });
    if (options.model) this.#checkCap(options.model, bytes);
    const job = await this.#createJob(sql, context, options.params, false);
    let pageToken: string | undefined;
    let done = false;
    try {
      for (;;) {
        const page = await this.#page(job, options.pageSize, pageToken, context);
        if (page.schema) options.onSchema?.(page.schema.map((f) => String(f.name)));
        if (page.rows.length > 0) yield page.rows.map((r) => r.f.map((cell) => cell.v ?? null));
        pageToken = page.pageToken;
        if (page.complete && pageToken === undefined) break;
      }
      done = true;
    } finally {
      // The consumer stopped early or a page failed: the job is of no further use.
      if (!done) await job.cancel().catch(() => undefined);
    }
  }

  /**
   * Push-down into BigQuery when the state keeps its snapshots in this source
   * (`state.snapshots.source`): the diff runs as query jobs here, in coho's dataset.
   */
  pushDownTarget(home: SnapshotHome): PushDownTarget | undefined {
    if (home.location.kind !== "source" || home.location.source !== this.name) return undefined;
    let lastSql = "";
    const jobs = {
      pages: (sql: string, params: Record<string, unknown>, pageSize: number) => {
        lastSql = sql;
        return this.query(sql, { params, pageSize });
      },
    };
    return {
      dialect: BIGQUERY_DIALECT,
      // Work tables go to the dataset of the snapshots (coho's own), named by the home.
      open: async () => bigQuerySession(jobs, /^`([^`]+)`\./.exec(home.snapshots)?.[1] ?? DEFAULT_STATE_DATASET),
      // BigQuery reports [line:column] of the whole statement: the lines coho wrote before
      // the model's SQL (which always starts a line) are taken off.
      queryError: (model, error) => {
        const at = lastSql.indexOf(modelQuery(model));
        return bigQueryError(this.config, error, { model, lineOffset: at < 0 ? 0 : lastSql.slice(0, at).split("\n").length - 1, answered: this.#answered });
      },
    };
  }

  /** coho's snapshots in `dataset` of this source's project (`state.snapshots`). */
  snapshotStore(dataset: string): SnapshotStore {
    const runner = {
      pages: (sql: string, params: Record<string, unknown>, pageSize: number) => this.query(sql, { params, pageSize }),
      ensureDataset: async (name: string) => {
        try {
          await this.#connect().dataset(name).get({ autoCreate: true, ...(this.config.location ? { location: this.config.location } : {}) });
          this.#answered = true;
        } catch (error) {
          throw bigQueryError(this.config, error, { model: undefined, lineOffset: 0, answered: this.#answered });
        }
      },
    };
    return new BigQuerySnapshotStore(runner, this.name, dataset);
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

  #jobConfig(sql: string, model: ModelConfig | undefined, params: Record<string, unknown> | undefined, dryRun: boolean): Query {
    const name = model?.name ?? "state";
    return {
      query: sql,
      useLegacySql: false,
      defaultDataset: { projectId: this.config.project, datasetId: this.config.dataset },
      labels: jobLabels(this.name, name, model ? this.#cohortsOf(model.name) : []),
      // A client-made ID: inserting the job again after a lost answer cannot start a second one.
      jobId: `coho_${name}_${randomUUID().replace(/-/g, "")}`,
      ...(params && Object.keys(params).length > 0 ? { params } : {}),
      ...(this.config.location ? { location: this.config.location } : {}),
      ...(this.config.maximumBytesBilled !== undefined ? { maximumBytesBilled: String(this.config.maximumBytesBilled) } : {}),
      ...(dryRun ? { dryRun: true } : {}),
    };
  }

  async #createJob(sql: string, context: ErrorContext, params: Record<string, unknown> | undefined, dryRun: boolean): Promise<Job> {
    try {
      const [job] = await this.#connect().createQueryJob(this.#jobConfig(sql, context.model, params, dryRun));
      this.#answered = true;
      return job;
    } catch (error) {
      throw this.#error(error, context);
    }
  }

  async #firstPage(sql: string, context: ErrorContext) {
    const job = await this.#createJob(sql, context, undefined, false);
    for (;;) {
      const page = await this.#page(job, 1, undefined, context);
      if (page.complete) return page;
    }
  }

  /** One page of a job's result; `complete` is false while the job still runs (BigQuery then answers with no rows). */
  async #page(job: Job, size: number, pageToken: string | undefined, context: ErrorContext) {
    try {
      const [rows, , response] = await job.getQueryResults({ maxResults: size, autoPaginate: false, skipParsing: true, ...(pageToken ? { pageToken } : {}) } as never);
      this.#answered = true;
      const answer = (response ?? {}) as { schema?: { fields?: { name?: string; type?: string; mode?: string }[] }; pageToken?: string; jobComplete?: boolean };
      return { rows: (rows ?? []) as unknown as RestRow[], schema: answer.schema?.fields, pageToken: answer.pageToken || undefined, complete: answer.jobComplete !== false };
    } catch (error) {
      throw this.#error(error, context);
    }
  }

  #error(error: unknown, context: ErrorContext): Error {
    return bigQueryError(this.config, error, { model: context.model, lineOffset: context.lineOffset, answered: this.#answered });
  }
}

interface ErrorContext {
  readonly model: ModelConfig | undefined;
  readonly lineOffset: number;
}

const quote = (name: string) => `\`${name.replace(/[`\\]/g, "\\$&")}\``;
