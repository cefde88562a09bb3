/**
 * The part of GitHub Actions' expression language the example workflow uses:
 * property paths (github.…, secrets.…, vars.…, env.…, steps.….outputs.…), string
 * literals, == and != (strings compared case-insensitively, as GitHub does; a
 * missing value equals ''), !, &&, ||, parentheses, and the status functions.
 * Anything else throws, so the workflow cannot drift past what the harness checks.
 */
export interface ExpressionContext {
  readonly values: Record<string, unknown>;
  /** Whether an earlier step of the job failed. */
  readonly failed: boolean;
}

type Token = { kind: "path" | "string" | "op" | "call"; text: string };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const rest = source.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    const string = /^'((?:[^']|'')*)'/.exec(rest);
    const call = /^(always|success|failure|cancelled)\(\)/.exec(rest);
    const path = /^[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*/.exec(rest);
    const op = /^(==|!=|&&|\|\||!|\(|\))/.exec(rest);
    if (string) tokens.push({ kind: "string", text: string[1]!.replace(/''/g, "'") });
    else if (call) tokens.push({ kind: "call", text: call[1]! });
    else if (path) tokens.push({ kind: "path", text: path[0] });
    else if (op) tokens.push({ kind: "op", text: op[0] });
    else throw new Error(`workflow expression not supported by the harness: ${source}`);
    i += (string ?? call ?? path ?? op)![0].length;
  }
  return tokens;
}

export function evaluate(source: string, context: ExpressionContext): unknown {
  const tokens = tokenize(source);
  let position = 0;
  const peek = () => tokens[position];
  const take = (text?: string) => {
    const token = tokens[position++];
    if (!token || (text !== undefined && token.text !== text)) throw new Error(`bad workflow expression: ${source}`);
    return token;
  };
  const primary = (): unknown => {
    const token = take();
    if (token.kind === "string") return token.text;
    if (token.kind === "call") {
      if (token.text === "always") return true;
      if (token.text === "failure") return context.failed;
      if (token.text === "cancelled") return false;
      return !context.failed;
    }
    if (token.kind === "path") {
      if (token.text === "true" || token.text === "false") return token.text === "true";
      return token.text.split(".").reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], context.values);
    }
    if (token.text === "!") return !truthy(primary());
    if (token.text === "(") {
      const value = or();
      take(")");
      return value;
    }
    throw new Error(`bad workflow expression: ${source}`);
  };
  const comparison = (): unknown => {
    const left = primary();
    const op = peek();
    if (op?.text !== "==" && op?.text !== "!=") return left;
    position++;
    const equal = same(left, primary());
    return op.text === "==" ? equal : !equal;
  };
  const and = (): unknown => {
    let value = comparison();
    while (peek()?.text === "&&") {
      position++;
      const right = comparison();
      value = truthy(value) ? right : value;
    }
    return value;
  };
  const or = (): unknown => {
    let value = and();
    while (peek()?.text === "||") {
      position++;
      const right = and();
      value = truthy(value) ? value : right;
    }
    return value;
  };
  const result = or();
  if (position !== tokens.length) throw new Error(`bad workflow expression: ${source}`);
  return result;
}

function same(a: unknown, b: unknown): boolean {
  const norm = (v: unknown) => (v === undefined || v === null ? "" : typeof v === "string" ? v.toLowerCase() : String(v));
  return norm(a) === norm(b);
}

export function truthy(value: unknown): boolean {
  return value !== undefined && value !== null && value !== false && value !== "" && value !== 0;
}

/** Replaces every `${{ … }}` in `text` by its value, as the runner does before a step runs. */
export function substitute(text: string, context: ExpressionContext): string {
  return text.replace(/\$\{\{(.*?)\}\}/g, (_, expression: string) => {
    const value = evaluate(expression.trim(), context);
    return value === undefined || value === null ? "" : String(value);
  });
}

/** A step's or job's `if:`; GitHub reads a bare expression without `${{ }}`. */
export function condition(text: string | undefined, context: ExpressionContext): boolean {
  if (text === undefined) return !context.failed;
  const inner = /^\s*\$\{\{(.*)\}\}\s*$/.exec(text)?.[1] ?? text;
  // A condition without a status function implies success() first.
  const usesStatus = /\b(always|success|failure|cancelled)\(\)/.test(inner);
  return (usesStatus || !context.failed) && truthy(evaluate(inner, context));
}
