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
