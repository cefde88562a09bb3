import { relative } from "node:path";
import type { Diagnostic, SourceLocation } from "../model/diagnostic.js";
import type { LoadedFile } from "./load-file.js";
import { locate } from "./locate.js";
import type { YamlFile } from "./read-yaml.js";

import { SECTIONS, type Section } from "./sections.js";

export { SECTIONS, type Section };

/** One named entry of a section, with the file it came from. */
export interface Entry<T> {
  readonly name: string;
  readonly value: T;
  readonly file: LoadedFile & { yaml: YamlFile };
  /** Where its key is written. */
  readonly origin: SourceLocation;
}

export type Entries = { [S in Section]: Map<string, Entry<Record<string, unknown>>> } & {
  /** Names declared with schema errors of their own: not built, but known to references. */
  readonly broken: { [S in Section]: Set<string> };
};

const SINGULAR: Record<Section, string> = {
  sources: "source",
  destinations: "destination",
  models: "model",
  identifiers: "identifier",
  cohorts: "cohort",
};

/** Merges the sections of every file; a name defined twice names both places. */
export function collectEntries(projectDir: string, files: readonly LoadedFile[], diagnostics: Diagnostic[]): Entries {
  const broken = Object.fromEntries(SECTIONS.map((s) => [s, new Set<string>()])) as Entries["broken"];
  const entries = { ...Object.fromEntries(SECTIONS.map((s) => [s, new Map()])), broken } as Entries;
  for (const file of files) {
    const data = file.data ?? file.partial?.data;
    if (!data || !file.yaml) continue;
    for (const key of file.partial?.broken ?? []) {
      const [section, name] = key.split(".") as [Section, string];
      broken[section].add(name);
    }
    const withYaml = file as LoadedFile & { yaml: YamlFile };
    for (const section of SECTIONS) {
      const values = (data[section] ?? {}) as Record<string, Record<string, unknown>>;
      for (const [name, value] of Object.entries(values)) {
        const origin = locate(file.yaml, [section, name], "key");
        const first = entries[section].get(name);
        if (first) {
          diagnostics.push({
            severity: "error",
            code: "config.duplicate_name",
            message: `${SINGULAR[section]} \`${name}\` is defined twice: here and at ${describeLocation(projectDir, first.origin)}`,
            location: origin,
            related: first.origin,
          });
          continue;
        }
        entries[section].set(name, { name, value, file: withYaml, origin });
      }
    }
  }
  return entries;
}

/** `cohorts/a.yaml:4:3`: a location named inside a message, relative to the project. */
export function describeLocation(projectDir: string, location: SourceLocation): string {
  return `${relative(projectDir, location.file)}:${location.line}:${location.column}`;
}
