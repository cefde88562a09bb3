import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: fileURLToPath(new URL("..", import.meta.url)),
    include: ["test/**/*.test.ts"],
    // End-to-end tests spawn the built CLI and real servers: give them room on a
    // shared 2-core machine. No test asserts on time.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ["test/helpers/global-setup.ts"],
  },
});
