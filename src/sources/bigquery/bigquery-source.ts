import { randomUUID } from "node:crypto";
import type { BigQuery, Job, JobMetadata } from "@google-cloud/bigquery";
import { CohoError } from "../../model/errors.js";
import type { BigQuerySourceConfig, ModelConfig } from "../../model/project.js";
import { DEFAULT_BATCH_SIZE, modelQuery, type ColumnInfo, type ColumnKind, type RowBatch, type Source } from "../source.js";
import type { PushDownTarget, SnapshotHome, SnapshotStore } from "../dialect.js";
import { BigQuerySnapshotStore } from "./bigquery-snapshots.js";
import { openBigQuery } from "./bigquery-client.js";
import { bigQuerySession } from "./bigquery-session.js";
import { BIGQUERY_DIALECT } from "./dialect.js";
import { formatBytes } from "../../model/bytes.js";
import { formatDuration } from "../../model/duration.js";
import { bigQueryError } from "./bigquery-errors.js";
import { jobLabels } from "./job-labels.js";

/** The dataset of coho's snapshots unless the state's snapshots setting names another schema. */
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

/** What `jobs.query` and `jobs.getQueryResults` answer (the fields coho reads). */
interface QueryAnswer {
  readonly schema?: { readonly fields?: readonly { readonly name?: string; readonly type?: string; readonly mode?: string }[] };
  readonly rows?: readonly RestRow[];
  readonly pageToken?: string;
  readonly jobComplete?: boolean;
  readonly totalBytesProcessed?: string;
  readonly jobReference?: { readonly jobId?: string; readonly location?: string };
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
    let fields: readonly { name?: string | null; type?: string | null; mode?: string | null }[] | undefined = (await this.#dryRun(query, context, undefined)).statistics?.query?.schema?.fields;
    if (fields === undefined) {
      // BigQuery's dry runs carry the result's schema; the emulator's do not. The
      // schema of an empty result is read instead (on BigQuery this never runs:
      // LIMIT does not reduce the bytes a query bills).
      fields = (await this.#jobsQuery(`SELECT * FROM (\n${query}\n) AS coho_model LIMIT 0`, { model, lineOffset: 1 }, undefined, { maxResults: 1 })).schema?.fields;
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
   * Runs `sql` (after a dry run: bytes recorded, the cap checked) and yields its rows
   * a page at a time, values as BigQuery's REST API gives them (INT64 as decimal
   * text, never a rounded number). `jobs.query` answers with the first page; later
   * pages come from the job's results by page token. `model`: the model the SQL
   * runs, for located errors and labels.
   */
  async *query(sql: string, options: { model?: ModelConfig; params?: Record<string, unknown>; pageSize: number; lineOffset?: number; onSchema?: (fields: string[]) => void }): AsyncIterable<unknown[][]> {
    const context = { model: options.model, lineOffset: options.lineOffset ?? 0 };
    // A DROP reads nothing, so it gets no dry run: there are no bytes to count or cap
    // (and the BigQuery emulator, after a dry-run DROP, silently keeps the table).
    if (!/^DROP TABLE /.test(sql)) {
      const dry = await this.#dryRun(sql, context, options.params);
      const bytes = Number(dry.statistics?.totalBytesProcessed ?? 0);
      this.#dryRuns.push({ model: options.model?.name ?? "", bytes });
      if (options.model) this.#checkCap(options.model, bytes);
    }
    let page: QueryAnswer = await this.#jobsQuery(sql, context, options.params, { maxResults: options.pageSize });
    const reference = page.jobReference;
    const job = reference?.jobId ? this.#connect().job(reference.jobId, { location: reference.location ?? this.config.location }) : undefined;
    let done = false;
    try {
      for (;;) {
        if (page.schema?.fields) options.onSchema?.(page.schema.fields.map((f) => String(f.name)));
        const rows = page.rows ?? [];
        if (rows.length > 0) yield rows.map((r) => r.f.map((cell) => cell.v ?? null));
        const pageToken = page.pageToken || undefined;
        if (page.jobComplete !== false && pageToken === undefined) break;
        if (!job) throw new Error("BigQuery answered without a job reference for the remaining rows");
        page = await this.#page(job, options.pageSize, pageToken, context);
      }
      done = true;
    } finally {
      // The consumer stopped early or a page failed: the job is of no further use.
      if (!done && job) await job.cancel().catch(() => undefined);
    }
  }

  /**
   * Push-down into BigQuery when the state keeps its snapshots in this source
   * (state.snapshots.source): the diff runs as query jobs here, in coho's dataset.
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

  /** coho's snapshots in `dataset` of this source's project (the state's snapshots setting). */
  snapshotStore(dataset: string): SnapshotStore {
    const runner = {
      pages: (sql: string, params: Record<string, unknown>, pageSize: number) => this.query(sql, { params, pageSize }),
      tableExists: async (name: string, table: string) => {
        try {
          const [exists] = await this.#deadline(this.#connect().dataset(name).table(table).exists());
          this.#answered = true;
          return exists;
        } catch (error) {
          throw bigQueryError(this.config, error, { model: undefined, lineOffset: 0, answered: this.#answered });
        }
      },
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

  /** Named query parameters in the REST API's form. */
  #parameters(params: Record<string, unknown> | undefined): { parameterMode?: string; queryParameters?: object[] } {
    const named = Object.entries(params ?? {});
    if (named.length === 0) return {};
    const Client = this.#connect().constructor as unknown as { valueToQueryParameter_(value: unknown): object };
    return { parameterMode: "NAMED", queryParameters: named.map(([key, value]) => ({ name: key, ...textValues(Client.valueToQueryParameter_(value)) })) };
  }

  /** A dry run (jobs.insert, as BigQuery documents it): the bytes the query would process and its result's schema. */
  async #dryRun(sql: string, context: ErrorContext, params: Record<string, unknown> | undefined): Promise<JobMetadata> {
    const name = context.model?.name ?? "state";
    try {
      const [job] = await this.#deadline(this.#connect().createQueryJob({
        query: sql,
        useLegacySql: false,
        dryRun: true,
        defaultDataset: { projectId: this.config.project, datasetId: this.config.dataset },
        labels: jobLabels(this.name, name, context.model ? this.#cohortsOf(context.model.name) : []),
        ...this.#parameters(params),
        ...(this.config.location ? { location: this.config.location } : {}),
      } as never));
      this.#answered = true;
      return job.metadata as JobMetadata;
    } catch (error) {
      throw this.#error(error, context);
    }
  }

  /**
   * One `jobs.query` request: the job runs with coho's labels, the byte cap and the
   * source's dataset for unqualified names. A request ID makes a retry after a lost
   * answer return the same job instead of starting a second one.
   */
  async #jobsQuery(sql: string, context: ErrorContext, params: Record<string, unknown> | undefined, extra: { dryRun?: boolean; maxResults?: number }): Promise<QueryAnswer> {
    const client = this.#connect();
    const name = context.model?.name ?? "state";
    const body = {
      query: sql,
      useLegacySql: false,
      defaultDataset: { projectId: this.config.project, datasetId: this.config.dataset },
      labels: jobLabels(this.name, name, context.model ? this.#cohortsOf(context.model.name) : []),
      requestId: randomUUID(),
      formatOptions: { useInt64Timestamp: true },
      ...this.#parameters(params),
      ...(this.config.location ? { location: this.config.location } : {}),
      ...(this.config.maximumBytesBilled !== undefined ? { maximumBytesBilled: String(this.config.maximumBytesBilled) } : {}),
      ...(extra.dryRun ? { dryRun: true } : {}),
      ...(extra.maxResults !== undefined ? { maxResults: extra.maxResults } : {}),
    };
    try {
      const answer = await this.#deadline(new Promise<QueryAnswer>((resolve, reject) =>
        client.request({ method: "POST", uri: "/queries", json: body }, (error: unknown, response: unknown) => (error ? reject(error) : resolve(response as QueryAnswer))),
      ));
      this.#answered = true;
      // A job that failed reports it in the answer (jobs.query), not as an HTTP error.
      const failed = (answer as { errors?: unknown[] }).errors;
      if (answer.jobComplete !== false && Array.isArray(failed) && failed.length > 0 && !answer.schema) throw Object.assign(new Error(String((failed[0] as { message?: string }).message ?? "query failed")), { errors: failed });
      return answer;
    } catch (error) {
      throw this.#error(error, context);
    }
  }

  /** One page of a job's result; `jobComplete` is false while the job still runs (BigQuery then answers with no rows). */
  async #page(job: Job, size: number, pageToken: string | undefined, context: ErrorContext): Promise<QueryAnswer> {
    try {
      const [rows, , response] = await this.#deadline(job.getQueryResults({ maxResults: size, autoPaginate: false, skipParsing: true, ...(pageToken ? { pageToken } : {}) } as never));
      this.#answered = true;
      return { ...((response ?? {}) as QueryAnswer), rows: (rows ?? []) as unknown as RestRow[] };
    } catch (error) {
      throw this.#error(error, context);
    }
  }

  /**
   * `work`, or a network error once request_timeout passes without an answer. The
   * client (teeny-request over node-fetch 2) never calls back when a connection
   * drops in the middle of an answer, measured against a relay that cuts it:
   * without this a lost connection hung the plan for good.
   */
  #deadline<T>(work: Promise<T>): Promise<T> {
    const ms = this.config.requestTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`no answer within request_timeout (${formatDuration(ms)}): the connection was lost`), { code: "ETIMEDOUT" })), ms);
      timer.unref();
    });
    work.catch(() => undefined);
    return Promise.race([work, expired]).finally(() => clearTimeout(timer));
  }

  #error(error: unknown, context: ErrorContext): Error {
    return bigQueryError(this.config, error, { model: context.model, lineOffset: context.lineOffset, answered: this.#answered });
  }
}

interface ErrorContext {
  readonly model: ModelConfig | undefined;
  readonly lineOffset: number;
}

/**
 * A query parameter with every scalar `value` as text, as the REST API's
 * QueryParameterValue declares it (the client leaves numbers as JSON numbers,
 * which the emulator refuses).
 */
function textValues(parameter: object): object {
  const visit = (node: unknown, key: string): unknown => {
    if (Array.isArray(node)) return node.map((item) => visit(item, ""));
    if (node !== null && typeof node === "object") return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, visit(v, k)]));
    return key === "value" && (typeof node === "number" || typeof node === "boolean") ? String(node) : node;
  };
  return visit(parameter, "") as object;
}

const quote = (name: string) => `\`${name.replace(/[`\\]/g, "\\$&")}\``;
