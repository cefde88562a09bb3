/**
 * Secret values in the forms a message may show them: a driver lower-cases an
 * unquoted identifier or upper-cases a keyword, a URL or JSON body escapes it,
 * SQL doubles its quotes, a connection URL's password may surface alone.
 * Every form of every value is replaced by `***`.
 */
export function secretForms(value: string): string[] {
  if (value === "") return [];
  const forms = new Set<string>([value, value.toLowerCase(), value.toUpperCase()]);
  for (const form of [...forms]) {
    forms.add(encodeURIComponent(form));
    forms.add(JSON.stringify(form).slice(1, -1));
    forms.add(form.replace(/'/g, "''"));
    forms.add(form.replace(/"/g, '""'));
  }
  for (const part of urlCredentials(value)) forms.add(part);
  return [...forms].filter((form) => form !== "");
}

/** The password and query string of a URL (`postgres://u:pw@h/db`, `https://h/?key=…`): the parts that carry credentials. */
export function urlCredentials(value: string): string[] {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value)) return [];
  try {
    const url = new URL(value);
    const parts: string[] = [];
    if (url.password) parts.push(url.password, safeDecode(url.password));
    if (url.search.length > 1) parts.push(url.search.slice(1), safeDecode(url.search.slice(1)));
    return parts;
  } catch {
    return [];
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Below this length a form is replaced only as a whole word: `us` must not turn `status` into `stat***`. */
const WHOLE_WORD_BELOW = 4;

/** `text` with each form replaced by `***`, longest first (a form inside a longer one never splits it). */
export function redactForms(text: string, forms: Iterable<string>): string {
  let result = text;
  for (const form of [...forms].sort((a, b) => b.length - a.length)) {
    if (!result.includes(form)) continue;
    if (form.length >= WHOLE_WORD_BELOW) result = result.split(form).join("***");
    else result = result.replace(new RegExp(`(?<![A-Za-z0-9_])${escapeRegExp(form)}(?![A-Za-z0-9_])`, "g"), "***");
  }
  return result;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Every secret this process resolved, and every value a connection setting read
 * from the environment, in all their forms. The configuration loader remembers
 * them; the places where text from outside enters a message (a database driver's
 * or a server's error, a host that could not be reached) pass it through
 * redactKnown, so the value is gone before the message is composed, whatever the
 * value looks like: even an ordinary word, which the CLI's last pass over its
 * output cannot tell apart from coho's own text.
 */
const known = new Set<string>();

export function rememberSecret(value: string): void {
  for (const form of secretForms(value)) known.add(form);
}

/**
 * Forgets every remembered secret. For a process that runs one project after
 * another and needs the next one's messages judged on its own secrets alone: the
 * test suite, whose files share worker processes. Remembering more only redacts more.
 */
export function forgetRememberedSecrets(): void {
  known.clear();
}

/** Text from outside coho (a driver's or a server's message, an address), with every remembered secret replaced by `***`. */
export function redactKnown(text: string): string {
  return known.size === 0 ? text : redactForms(text, known);
}
