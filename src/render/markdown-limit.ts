/**
 * GitHub's comment limit is 65,536 characters; a plan comment stays well under
 * it. Its own module so the CLI can name it in --help without loading the
 * renderer at start-up.
 */
export const MARKDOWN_LIMIT = 60_000;
