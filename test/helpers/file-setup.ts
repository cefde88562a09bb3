import { forgetRememberedSecrets } from "../../src/model/redaction.js";

/**
 * Runs before each test file. Test files share worker processes (vitest's
 * `isolate: false`, test/vitest.config.ts), so coho's one piece of process-wide
 * state, the secrets its redaction remembers, starts empty for every file, as it
 * does for every coho process.
 */
forgetRememberedSecrets();
