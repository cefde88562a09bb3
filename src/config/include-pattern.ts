/**
 * Why an `include:` pattern, as it reads once `${var:…}` is substituted, may not
 * be globbed at all, or undefined when it may. Checked before any directory is
 * listed, so a pattern (or a `--var` value a pull request's workflow passes)
 * never walks outside the project nor learns which files exist there: every
 * match is still checked afterwards (a symbolic link inside may lead out).
 *
 * Refused: an absolute or home path, a backslash (an escaped character could
 * spell a hidden name), and any path segment or glob alternative that starts
 * with a dot: `..` leaves the project, `.git`, `.env`, `.coho` are hidden.
 */
export function includePatternProblem(pattern: string): string | undefined {
  if (/^(\/|~|[A-Za-z]:)/.test(pattern)) return "is an absolute path";
  if (pattern.includes("\\")) return "holds a backslash";
  // A dot that starts a segment (after /), an alternative ({a,b}, @(a|b)) or a character class.
  if (/(^|[/{,(|[!@+])\./.test(pattern)) return pattern.split("/").some((s) => s.includes("..")) ? "leads out of the project folder (..)" : "names a hidden entry (a name starting with a dot)";
  return undefined;
}
