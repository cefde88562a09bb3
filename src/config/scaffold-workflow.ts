import type { ScaffoldVariable } from "./scaffold-sources.js";

/**
 * The GitHub Actions workflow `coho init --github` writes: a plan on every pull
 * request and an apply on every merge to main, both through the coho action
 * (action.yml at the root of the coho repository), with state in PostgreSQL so
 * every runner sees the same state. Secrets are the variables without an
 * example value (keys, URLs with passwords); the others are plain `env:` values,
 * so pull requests from forks, which get no secrets, still plan.
 */
export function workflowYaml(options: { readonly version: string; readonly variables: readonly ScaffoldVariable[] }): string {
  const plain = options.variables.filter((v) => isPlain(v));
  const secrets = options.variables.filter((v) => !isPlain(v));
  const planSecrets = secrets.filter((v) => !v.name.startsWith("BRAZE_")); // Braze keys only where apply runs
  const env = (vars: readonly ScaffoldVariable[], indent: string) => vars.map((v) => `${indent}${v.name}: \${{ secrets.${v.name} }}\n`).join("");
  const settingsCheck = plain
    .map((v) => `          if [ -z "$${v.name}" ]; then echo "::error::${v.name} is empty: set it in env: at the top of .github/workflows/coho.yml"; exit 1; fi\n`)
    .join("");
  const job = (command: "plan" | "apply") => `    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 20
      - name: Check settings
        run: |
${settingsCheck}          true
      # Pin the action by a commit of coho you reviewed, like the tarball above.
      - uses: your-org/coho@v${options.version}
        id: coho
        with:
          command: ${command}
          working-directory: \${{ env.PROJECT_DIR }}
          state-url: \${{ secrets.COHO_STATE_URL }}
          coho-tarball-url: \${{ env.COHO_TARBALL_URL }}
          coho-tarball-sha256: \${{ env.COHO_TARBALL_SHA256 }}
`;
  return `# coho in GitHub Actions (written by coho init --github): a plan on every pull
# request (one comment, updated in place; the job summary for forks), an apply on
# every merge to main (its result posted to the merged pull request, coho.lock
# committed back). State lives in PostgreSQL (COHO_STATE_URL), so every runner
# sees the same state and no member key sits in a cache. Set the values below,
# the repository secrets ${["COHO_STATE_URL", ...planSecrets.map((v) => v.name)].join(", ")} and, on the
# environment braze-production, ${secrets.filter((v) => v.name.startsWith("BRAZE_")).map((v) => v.name).join(", ")}.
name: coho

on:
  pull_request:
  push:
    branches: [main]
  workflow_dispatch:

env:
  PROJECT_DIR: .
  # coho, pinned by content: a tarball made with \`npm pack\` from a coho commit you
  # reviewed, and its SHA-256 (sha256sum coho-${options.version}.tgz).
  COHO_TARBALL_URL: https://github.com/your-org/coho/releases/download/v${options.version}/coho-${options.version}.tgz
  COHO_TARBALL_SHA256: "0000000000000000000000000000000000000000000000000000000000000000"
  # Not secrets: pull requests from forks get neither secrets nor variables, and they still plan.
${plain.map((v) => `  ${v.name}: "${v.example}"${v.example === "" ? "                # required" : ""}\n`).join("")}
jobs:
  plan:
    if: github.event_name == 'pull_request'
    runs-on: ubuntu-latest
    permissions:
      contents: read
      pull-requests: write
    concurrency:
      group: coho-plan-\${{ github.event.pull_request.number }}
      cancel-in-progress: true
${planSecrets.length > 0 ? `    env:\n${env(planSecrets, "      ")}` : ""}${job("plan")}
  apply:
    if: github.event_name == 'push' || github.event_name == 'workflow_dispatch'
    runs-on: ubuntu-latest
    environment: braze-production
    concurrency:
      group: coho-apply
      cancel-in-progress: false
    permissions:
      contents: write
      pull-requests: write
    env:
${env(secrets, "      ")}${job("apply")}`;
}

/** A variable the workflow writes in plain `env:`: it has a public example value and is not a key. */
function isPlain(variable: ScaffoldVariable): boolean {
  return variable.name === "BRAZE_REST_ENDPOINT" || variable.name === "BRAZE_PARTNER";
}
