import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

type SnowflakeSdk = typeof import("snowflake-sdk");

let loaded: SnowflakeSdk | undefined;

/**
 * The official Node.js driver, snowflake-sdk, loaded on first use (CommonJS, with
 * the AWS SDK among its dependencies for file transfers coho never makes): a
 * project without Snowflake never pays for loading it, and the CLI bundle leaves it
 * out (createRequire). Its own logging is off: coho reports what matters itself,
 * and nothing may reach stderr that a renderer did not write.
 */
export function snowflakeDriver(): SnowflakeSdk {
  if (loaded) return loaded;
  // The AWS SDK warns on stderr about Node versions; coho uses none of its clients.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  loaded = require("snowflake-sdk") as SnowflakeSdk;
  loaded.configure({ logLevel: "OFF" } as never);
  return loaded;
}
