import { describe, expect, it } from "vitest";
import { checkPostgresUrl } from "../../src/model/postgres-url.js";
import { classifyPgFailure } from "../../src/sources/postgres/postgres-source.js";

describe("PostgreSQL URL checks", () => {
  it("refuses what the driver would misread, without echoing the URL", () => {
    const cases: [string, RegExp][] = [
      ["postgres://u:s3cret@db.example.com:99999/w", /port outside 1–65535/],
      ["localhost:5432/warehouse", /postgres:\/\//],
      ["mysql://u@h/db", /postgres:\/\//],
      ["postgres://u@h/db?sslmode=prefer", /sslmode=prefer/],
    ];
    for (const [url, problem] of cases) {
      const check = checkPostgresUrl(url);
      expect(check.ok, url).toBe(false);
      if (!check.ok) {
        expect(check.problem).toMatch(problem);
        expect(check.problem).not.toContain("s3cret");
      }
    }
  });

  it("takes sslmode out of the URL and maps it to ssl.mode", () => {
    const check = checkPostgresUrl("postgres://u@db.example.com:5432/w?sslmode=verify-ca&application_name=x");
    expect(check).toMatchObject({ ok: true, sslMode: "verify-full" });
    if (check.ok) expect(check.stripped).toBe("postgres://u@db.example.com:5432/w?application_name=x");
    expect(checkPostgresUrl("postgres://u@127.0.0.1/w")).toMatchObject({ ok: true, sslMode: undefined });
    expect(checkPostgresUrl("postgresql:///w?host=/var/run/postgresql")).toMatchObject({ ok: true });
  });

  it("tells connection loss, timeouts, cancellation and SQL errors apart", () => {
    const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });
    expect(classifyPgFailure(pgError("57014", "canceling statement due to statement timeout"))).toBe("timeout");
    expect(classifyPgFailure(pgError("57014", "canceling statement due to user request"))).toBe("cancelled");
    expect(classifyPgFailure(pgError("57P01", "terminating connection due to administrator command"))).toBe("connection_lost");
    expect(classifyPgFailure(pgError("08006", "connection failure"))).toBe("connection_lost");
    expect(classifyPgFailure(new Error("Connection terminated unexpectedly"))).toBe("connection_lost");
    expect(classifyPgFailure(pgError("42P01", 'relation "nope" does not exist'))).toBe("sql");
  });
});
