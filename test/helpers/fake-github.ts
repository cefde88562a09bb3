import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COHO_BIN } from "./cli.js";

/** A pull request comment as the GitHub REST API returns it (the fields the workflow reads). */
export interface FakeComment {
  id: number;
  user: { login: string };
  body: string;
}

export interface FakeCall {
  method: string;
  path: string;
  paginate: boolean;
}

/** What the fake GitHub holds; a JSON file the `gh` stand-in reads and writes. */
export interface FakeGithubState {
  /** The login that comments made with the job's token get. */
  botLogin: string;
  nextId: number;
  /** Comments by issue (pull request) number. */
  comments: Record<string, FakeComment[]>;
  /** `GET /repos/{repo}/commits/{sha}/pulls`: the pull requests a commit belongs to. */
  pullsForCommit: Record<string, number[]>;
  calls: FakeCall[];
}

/**
 * GitHub is unreachable from tests, so the workflow's `gh api` calls go to a small
 * stand-in: a `gh` on PATH that serves the few REST endpoints the workflow uses
 * from a JSON file, paginates like GitHub (only the first page without
 * --paginate), applies --jq with jq, and records every call. `npm install
 * --global TARBALL` is stood in for too (the registry is unreachable): it checks
 * that the file is a coho package and puts the built coho on PATH.
 */
export class FakeGithub {
  readonly dir: string;
  readonly bin: string;
  /** Where the `npm install --global` stand-in puts `coho`: empty until the install step runs. */
  readonly globalBin: string;
  readonly stateFile: string;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), "coho-fake-github-"));
    this.bin = join(this.dir, "bin");
    this.globalBin = join(this.dir, "global-bin");
    mkdirSync(this.bin);
    mkdirSync(this.globalBin);
    this.stateFile = join(this.dir, "state.json");
    this.write({ botLogin: "github-actions[bot]", nextId: 1000, comments: {}, pullsForCommit: {}, calls: [] });
    writeScript(join(this.bin, "gh"), GH_SCRIPT);
    writeScript(join(this.bin, "npm"), NPM_SCRIPT);
  }

  get env(): Record<string, string> {
    return { FAKE_GITHUB_STATE: this.stateFile, FAKE_GLOBAL_BIN: this.globalBin, FAKE_COHO_BIN: COHO_BIN };
  }

  get path(): string[] {
    return [this.bin, this.globalBin];
  }

  read(): FakeGithubState {
    return JSON.parse(readFileSync(this.stateFile, "utf8")) as FakeGithubState;
  }

  write(state: FakeGithubState): void {
    writeFileSync(this.stateFile, JSON.stringify(state, null, 2));
  }

  /** Adds comments by someone else (to push ours past the first page, or to imitate it). */
  seedComments(pr: number, comments: { login: string; body: string }[]): void {
    const state = this.read();
    const list = (state.comments[String(pr)] ??= []);
    for (const c of comments) list.push({ id: state.nextId++, user: { login: c.login }, body: c.body });
    this.write(state);
  }
}

function writeScript(path: string, text: string): void {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

const GH_SCRIPT = `#!/usr/bin/env node
const { readFileSync, writeFileSync } = require("node:fs");
const { spawnSync } = require("node:child_process");
const file = process.env.FAKE_GITHUB_STATE;
const state = JSON.parse(readFileSync(file, "utf8"));
const args = process.argv.slice(2);
const fail = (message, code = 1) => { process.stderr.write("gh: " + message + "\\n"); process.exit(code); };
if (!process.env.GH_TOKEN) fail("To use GitHub CLI in a GitHub Actions workflow, set the GH_TOKEN environment variable.", 4);
if (args.shift() !== "api") fail("the harness's gh stands in for \`gh api\` only");
let method, jq, paginate = false, path;
const fields = {};
while (args.length > 0) {
  const arg = args.shift();
  if (arg === "--paginate") paginate = true;
  else if (arg === "--method" || arg === "-X") method = args.shift();
  else if (arg === "--jq" || arg === "-q") jq = args.shift();
  else if (arg === "-F" || arg === "--field" || arg === "-f" || arg === "--raw-field") {
    const [key, ...rest] = args.shift().split("=");
    const value = rest.join("=");
    fields[key] = arg.startsWith("-F") || arg === "--field" ? (value.startsWith("@") ? readFileSync(value.slice(1), "utf8") : value) : value;
  } else if (arg.startsWith("-")) fail("unknown flag " + arg);
  else path = arg;
}
method = method || (Object.keys(fields).length > 0 ? "POST" : "GET");
const [route, query = ""] = path.split("?");
const perPage = Number(new URLSearchParams(query).get("per_page") || 30);
state.calls.push({ method, path, paginate });
const save = () => writeFileSync(file, JSON.stringify(state, null, 2));
const print = (pages) => {
  for (const page of pages) {
    if (jq === undefined) { process.stdout.write(JSON.stringify(page) + "\\n"); continue; }
    const out = spawnSync("jq", ["-r", jq], { input: JSON.stringify(page), encoding: "utf8" });
    if (out.status !== 0) fail("jq: " + out.stderr);
    process.stdout.write(out.stdout);
  }
};
let m;
if (method === "GET" && (m = /^repos\\/[^/]+\\/[^/]+\\/issues\\/(\\d+)\\/comments$/.exec(route))) {
  const all = state.comments[m[1]] || [];
  const pages = [];
  for (let i = 0; i < all.length; i += perPage) pages.push(all.slice(i, i + perPage));
  if (pages.length === 0) pages.push([]);
  save();
  print(paginate ? pages : [pages[0]]);
} else if (method === "POST" && (m = /^repos\\/[^/]+\\/[^/]+\\/issues\\/(\\d+)\\/comments$/.exec(route))) {
  if (typeof fields.body !== "string" || fields.body === "") fail("HTTP 422: body is missing");
  const comment = { id: state.nextId++, user: { login: state.botLogin }, body: fields.body };
  (state.comments[m[1]] = state.comments[m[1]] || []).push(comment);
  save();
  print([comment]);
} else if (method === "PATCH" && (m = /^repos\\/[^/]+\\/[^/]+\\/issues\\/comments\\/(\\d+)$/.exec(route))) {
  const comment = Object.values(state.comments).flat().find((c) => String(c.id) === m[1]);
  if (!comment) fail("Not Found (HTTP 404)");
  if (comment.user.login !== state.botLogin) fail("Resource not accessible by integration (HTTP 403)");
  comment.body = fields.body;
  save();
  print([comment]);
} else if (method === "GET" && (m = /^repos\\/[^/]+\\/[^/]+\\/commits\\/([^/]+)\\/pulls$/.exec(route))) {
  save();
  print([(state.pullsForCommit[m[1]] || []).map((number) => ({ number }))]);
} else {
  save();
  fail("Not Found (HTTP 404): " + method + " " + path);
}
`;

const NPM_SCRIPT = `#!/usr/bin/env bash
# Stands in for \`npm install --global TARBALL\`: the registry is unreachable from
# tests. Refuses anything but a coho package tarball, then links the built coho.
set -euo pipefail
[ "$1" = "install" ] || { echo "npm stand-in: only install is supported" >&2; exit 1; }
shift
global=false
tarball=""
for arg in "$@"; do
  case "$arg" in
    --global|-g) global=true ;;
    --*) ;;
    *) tarball="$arg" ;;
  esac
done
[ "$global" = true ] || { echo "npm stand-in: expected --global" >&2; exit 1; }
[ -f "$tarball" ] || { echo "npm stand-in: $tarball is not a file (an unpinned package name would go to the registry)" >&2; exit 1; }
manifest=$(tar -xzOf "$tarball" package/package.json) || { echo "npm stand-in: $tarball is not a package tarball" >&2; exit 1; }
case "$manifest" in *'"name": "coho"'*) ;; *) echo "npm stand-in: $tarball is not a coho package" >&2; exit 1 ;; esac
printf '#!/usr/bin/env bash\\nexec node "%s" "$@"\\n' "$FAKE_COHO_BIN" > "$FAKE_GLOBAL_BIN/coho"
chmod +x "$FAKE_GLOBAL_BIN/coho"
echo "added 1 package (harness stand-in for the registry)"
`;
