import { loadDriver } from "../load-driver.js";

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
  return loaded;
}
