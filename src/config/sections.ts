/** The sections of a config file that hold named entries. */
export const SECTIONS = ["sources", "destinations", "models", "identifiers", "cohorts"] as const;
export type Section = (typeof SECTIONS)[number];
