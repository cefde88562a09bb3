import type { ScaffoldVariable } from "./scaffold-sources.js";

/**
 * What `coho init --road ROAD` writes for each Braze road: the destination and
 * how the cohort marks membership. `attributes` (POST /users/track with any REST
 * API key) is the default because every Braze customer can use it; `cohorts`
 * needs a partner key, which Braze issues to technology partners only.
 */
export interface RoadTemplate {
  readonly summary: string;
  /** The `braze:` entry under `destinations:`; `endpoint` is the rest_endpoint value. */
  readonly destinationYaml: (settings: RoadSettings) => string;
  /** Lines added to the cohort (indented four spaces). */
  readonly cohortYaml: string;
  readonly variables: (settings: RoadSettings) => readonly ScaffoldVariable[];
}

export interface RoadSettings {
  /** For pipelines: the endpoint and partner come from variables the workflow sets. */
  readonly fromEnvironment: boolean;
}

/** The local emulator, on the port COHO_EMULATOR_PORT names (default 4010). */
const EMULATOR_ENDPOINT = "http://127.0.0.1:${env:COHO_EMULATOR_PORT:-4010}";
const ENDPOINT_COMMENT = "# `coho emulator`; a real instance: https://rest.iad-01.braze.com";

const endpointLine = (settings: RoadSettings) =>
  settings.fromEnvironment ? "    rest_endpoint: ${env:BRAZE_REST_ENDPOINT}    # your instance, e.g. https://rest.iad-01.braze.com\n" : `    rest_endpoint: ${EMULATOR_ENDPOINT}    ${ENDPOINT_COMMENT}\n`;

const endpointVariables = (settings: RoadSettings): ScaffoldVariable[] =>
  settings.fromEnvironment
    ? [{ name: "BRAZE_REST_ENDPOINT", example: "https://rest.iad-01.braze.com", local: "http://127.0.0.1:4010", comment: "Your Braze instance's REST endpoint (.env: the local emulator)." }]
    : [{ name: "COHO_EMULATOR_PORT", example: "4010", local: "4010", comment: "Port of the local emulator (`coho emulator`) the project reaches; 4010 when unset." }];

export const ROAD_TEMPLATES = {
  attributes: {
    summary: "a custom attribute per user through /users/track: any REST API key with users.track (every Braze customer)",
    destinationYaml: (settings) => `  braze:
    type: braze_attributes
${endpointLine(settings)}    api_key: \${env:BRAZE_REST_API_KEY}      # a REST API key with users.track (and users.export.ids for coho verify)
    # batch_size: 75                        # 50 on Braze's 'Monthly Active Users CY 24-25' contracts
`,
    cohortYaml: "    attribute: coho_active_users       # true while the user is in the cohort; a segment filters on it\n",
    variables: (settings) => [
      ...endpointVariables(settings),
      { name: "BRAZE_REST_API_KEY", example: "", local: "emulator-rest-api-key", comment: "A REST API key of the workspace with users.track (a secret)." },
    ],
  },
  cohorts: {
    summary: "a Braze cohort through the partner Cohort Import API: needs a partner API key (technology partners only)",
    destinationYaml: (settings) => `  braze:
    type: braze_cohorts
${endpointLine(settings)}    partner: ${settings.fromEnvironment ? "${env:BRAZE_PARTNER}              # the partner name Braze issued" : "coho-emulator                  # the partner name Braze issued with your partner key"}
    partner_api_key: \${env:BRAZE_PARTNER_API_KEY}
    data_import_key: \${env:BRAZE_DATA_IMPORT_KEY}
`,
    cohortYaml: "",
    variables: (settings) => [
      ...endpointVariables(settings),
      ...(settings.fromEnvironment ? [{ name: "BRAZE_PARTNER", example: "", local: "coho-emulator", comment: "The partner name Braze issued with the partner API key." }] : []),
      { name: "BRAZE_PARTNER_API_KEY", example: "", local: "emulator-partner-key", comment: "The partner API key Braze issued (a secret)." },
      { name: "BRAZE_DATA_IMPORT_KEY", example: "", local: "emulator-data-import-key", comment: "The workspace's Data Import Key (a secret)." },
    ],
  },
} as const satisfies Record<string, RoadTemplate>;

export type RoadChoice = keyof typeof ROAD_TEMPLATES;
export const ROAD_CHOICES = Object.keys(ROAD_TEMPLATES) as RoadChoice[];
