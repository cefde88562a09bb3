import type { AttributeBinding } from "../../model/project.js";

/**
 * A cohort's binding as a canonical string, stored in state and compared by the
 * planner as an opaque value (a change is a re-target):
 * `boolean:<attribute>:false`, `boolean:<attribute>:unset`, `array:<attribute>:<value>`.
 * Attribute names hold no ':' (the schema forbids it); array values may.
 */
export function bindingTarget(binding: AttributeBinding): string {
  return binding.kind === "boolean" ? `boolean:${binding.name}:${binding.onLeave}` : `array:${binding.name}:${binding.value}`;
}

export function parseBindingTarget(target: string | undefined): AttributeBinding | undefined {
  if (target === undefined) return undefined;
  const first = target.indexOf(":");
  const second = target.indexOf(":", first + 1);
  if (first < 0 || second < 0) return undefined;
  const kind = target.slice(0, first);
  const name = target.slice(first + 1, second);
  const rest = target.slice(second + 1);
  if (kind === "boolean" && (rest === "false" || rest === "unset")) return { kind, name, onLeave: rest };
  if (kind === "array" && rest !== "") return { kind, name, value: rest };
  return undefined;
}

/** What one attributes object says about the attribute, for a join or a leave. */
export function attributeValue(binding: AttributeBinding, join: boolean): unknown {
  if (binding.kind === "boolean") return join ? true : binding.onLeave === "unset" ? null : false;
  return join ? { add: [binding.value] } : { remove: [binding.value] };
}

/** Whether a value read back from Braze says the member is in (for verify). */
export function holdsMembership(binding: AttributeBinding, value: unknown): boolean {
  if (binding.kind === "boolean") return value === true;
  return Array.isArray(value) && value.includes(binding.value);
}

/** For humans: `coho_vip (boolean)` or `coho_cohorts ∋ vip`. */
export function describeBinding(binding: AttributeBinding): string {
  return binding.kind === "boolean" ? `${binding.name} = true` : `${binding.name} contains "${binding.value}"`;
}

/** Braze's limit on custom attribute names and string values. */
const MAX_ATTRIBUTE_TEXT = 255;
/** The rule written names follow (see schema/coho.schema.json): rendered names follow it too. */
const ATTRIBUTE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Control and bidirectional-text characters: they could forge or hide text in plan output. */
const UNSAFE_TEXT = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

/**
 * What is wrong with a rendered binding (a set instance's), or undefined. Braze
 * caps names and strings at 255 characters and reserves names starting with `$`;
 * coho also keeps rendered names to the rule written names follow (letters,
 * digits, underscores), so a segment filter or Liquid tag can always name them.
 */
export function bindingProblem(binding: AttributeBinding): string | undefined {
  const name = binding.name;
  if (name.length > MAX_ATTRIBUTE_TEXT) return `the attribute name would be ${name.length} characters long (Braze allows ${MAX_ATTRIBUTE_TEXT})`;
  if (name.startsWith("$")) return `the attribute name ${JSON.stringify(name)} would start with "$", which Braze reserves for its own attributes`;
  if (UNSAFE_TEXT.test(name)) return `the attribute name would hold a control or bidirectional-text character`;
  if (!ATTRIBUTE_NAME.test(name)) return `the attribute name ${JSON.stringify(name)} would not be a letter or underscore followed by letters, digits or underscores; map the key values in the model (e.g. replace '-' by '_'), or write them as array values, which may hold any text`;
  if (binding.kind === "boolean") return undefined;
  const value = binding.value;
  if (value.trim() === "") return "the array value would be blank";
  if (value.length > MAX_ATTRIBUTE_TEXT) return `the array value would be ${value.length} characters long (Braze keeps strings of at most ${MAX_ATTRIBUTE_TEXT}); shorten the template or filter long key values in the model`;
  if (UNSAFE_TEXT.test(value)) return "the array value would hold a control or bidirectional-text character";
  return undefined;
}

/** A template for messages: `coho_country_{key}` or `{ name: coho_countries, value: "{key}" }`. */
export function describeTemplate(binding: AttributeBinding): string {
  return binding.kind === "boolean" ? JSON.stringify(binding.name) : `{ name: ${binding.name}, value: ${JSON.stringify(binding.value)} }`;
}
