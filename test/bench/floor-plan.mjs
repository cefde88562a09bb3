/**
 * The floor of a plan, as a whole process: plain Node loads DuckDB, reads the same
 * model file and snapshot coho reads, and computes both set differences, nothing
 * else (no config, no state checks, no identifier rules, no rendering). DuckDB
 * runs at its DEFAULT settings (memory limit 80% of RAM, one thread per core):
 * the floor is what the machine can do, not what coho allows itself.
 *   node test/bench/floor-plan.mjs MODEL.parquet SNAPSHOT.parquet
 * Prints {"add":…,"remove":…}. FLOOR_TEMP_DIR: where DuckDB spills (its default
 * is .tmp in the working folder); the benchmark measures the spill there.
 */
import { DuckDBInstance } from "@duckdb/node-api";

const [model, snapshot] = process.argv.slice(2);
const db = await DuckDBInstance.create(":memory:", process.env.FLOOR_TEMP_DIR ? { temp_directory: process.env.FLOOR_TEMP_DIR } : {});
const c = await db.connect();
await c.run(`CREATE TABLE d AS SELECT 'external_id:' || user_id AS key FROM read_parquet('${model}')`);
await c.run(`CREATE TABLE s AS SELECT key FROM read_parquet('${snapshot}')`);
const r = await c.runAndReadAll("SELECT (SELECT count(*) FROM (SELECT key FROM d EXCEPT SELECT key FROM s)), (SELECT count(*) FROM (SELECT key FROM s EXCEPT SELECT key FROM d))");
const [add, remove] = r.getRows()[0].map(Number);
process.stdout.write(`${JSON.stringify({ add, remove })}\n`);
