/**
 * PostgreSQL's own floor for a pushed-down plan, as a whole process: plain Node
 * connects with pg and has the server compute both set differences over the same
 * model table and snapshot coho's push-down reads, at the server's default
 * settings, counting them (nothing leaves the server but two numbers).
 *   node test/bench/floor-pushdown.mjs PG_URL SNAPSHOT_ID
 */
import pg from "pg";

const [url, snapshot] = process.argv.slice(2);
const client = new pg.Client({ connectionString: url });
await client.connect();
const desired = "SELECT 'external_id:' || user_id AS key FROM bench_desired";
const recorded = "SELECT key FROM coho.snapshot_keys WHERE snapshot = $1";
const add = await client.query(`SELECT count(*) AS n FROM (${desired} EXCEPT ${recorded}) AS d`, [snapshot]);
const remove = await client.query(`SELECT count(*) AS n FROM (${recorded} EXCEPT ${desired}) AS d`, [snapshot]);
await client.end();
process.stdout.write(`${JSON.stringify({ add: Number(add.rows[0].n), remove: Number(remove.rows[0].n) })}\n`);
