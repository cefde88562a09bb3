import { createRequire } from "node:module";
import { loadDriver } from "../load-driver.js";

/** For a file inside the driver, resolved as loadDriver resolves the driver. */
const require = createRequire(import.meta.url);

type SnowflakeSdk = typeof import("snowflake-sdk");

let loaded: SnowflakeSdk | undefined;

/**
 * The official Node.js driver, snowflake-sdk, loaded on first use (CommonJS, with
 * the AWS SDK among its dependencies for file transfers coho never makes; an optional
 * peer dependency): a project without Snowflake never pays for loading or
 * installing it. Its own logging is off: coho reports what matters itself,
 * and nothing may reach stderr that a renderer did not write.
 */
export function snowflakeDriver(): SnowflakeSdk {
  if (loaded) return loaded;
  // The AWS SDK warns on stderr about Node versions; coho uses none of its clients.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  loaded = loadDriver<SnowflakeSdk>("snowflake-sdk");
  loaded.configure({ logLevel: "OFF" } as never);
  unrefRetrySleeps();
  return loaded;
}

/**
 * The driver retries a request that lost its connection up to 1,000 times, sleeping
 * up to 16 s between tries (its sfRetryMaxNumRetries cannot be set), and those sleeps
 * keep the process alive long after coho gave up at request_timeout and reported the
 * lost connection. Its back-off sleeps are made not to hold the event loop: while a
 * command runs, coho's own deadline timer (referenced) keeps the process alive, so
 * a retry still happens then; after it, nothing waits for them.
 */
function unrefRetrySleeps(): void {
  const util = require("snowflake-sdk/dist/lib/util") as { sleep?: (ms: number) => Promise<void> };
  if (typeof util.sleep !== "function") return;
  util.sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
}
