import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A throwaway PostgreSQL cluster for the test suite: initdb into a temporary
 * folder, a free port on 127.0.0.1, trust authentication, stopped afterwards.
 * PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
 */
export interface Cluster {
  readonly url: string;
  readonly port: number;
  stop(): void;
}

export function findPgBin(name: string): string {
  const onPath = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).stdout.trim();
  if (onPath) return onPath;
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    for (const version of readdirSync(root).sort().reverse()) {
      const candidate = join(root, version, "bin", name);
      if (existsSync(candidate)) return candidate;
    }
  }
  throw new Error(`PostgreSQL's ${name} was not found: install the postgresql package (.ci/run does)`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startCluster(): Promise<Cluster> {
  const initdb = findPgBin("initdb");
  const pgCtl = findPgBin("pg_ctl");
  const asRoot = process.getuid?.() === 0;
  const base = mkdtempSync(join(tmpdir(), "coho-pg-"));
  const data = join(base, "data");
  const sockets = join(base, "sockets");
  mkdirSync(sockets);
  const run = (command: string, args: string[]) => {
    if (!asRoot) return execFileSync(command, args, { stdio: "pipe" });
    return execFileSync("runuser", ["-u", "postgres", "--", command, ...args], { stdio: "pipe" });
  };
  if (asRoot) {
    const ids = execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim();
    const gid = execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim();
    for (const path of [base, sockets]) chownSync(path, Number(ids), Number(gid));
  }
  run(initdb, ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]);
  const port = await freePort();
  const options = `-p ${port} -k ${sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
  run(pgCtl, ["-D", data, "-o", options, "-l", join(base, "log"), "-w", "-t", "60", "start"]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop: () => {
      try {
        run(pgCtl, ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(base, { recursive: true, force: true });
      }
    },
  };
}
