import { describe, expect, it } from "vitest";
import { forgetRememberedSecrets, redactKnown, rememberSecret } from "../../src/model/redaction.js";

describe("secrets remembered for redaction", () => {
  it("are replaced in every form in text from outside coho, until forgotten", () => {
    rememberSecret("Tr0ub4dor&3");
    expect(redactKnown("login failed for Tr0ub4dor&3 (tr0ub4dor&3, TR0UB4DOR%263)")).toBe("login failed for *** (***, ***)");
    forgetRememberedSecrets();
    expect(redactKnown("login failed for Tr0ub4dor&3")).toBe("login failed for Tr0ub4dor&3");
  });
});
