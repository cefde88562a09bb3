import type { Diagnostic } from "../../model/diagnostic.js";
import { identifierParts, type BrazeAttributesConfig, type CohortConfig } from "../../model/project.js";
import type { DestinationRoad } from "../destination.js";
import { roundSeconds } from "../braze-cohorts/road.js";
import { arrayCapVerdicts } from "./array-cap.js";
import { EXPORT_IDS_PER_REQUEST, EXPORT_REQUESTS_PER_MINUTE } from "./export-ids.js";
import { AttributesClient } from "./attributes-client.js";
import { bindingProblem, bindingTarget, describeTemplate, holdsMembership, parseBindingTarget } from "./binding.js";

/** The public /users/track road (`type: braze_attributes`). */
export const BRAZE_ATTRIBUTES: DestinationRoad<BrazeAttributesConfig> = {
  type: "braze_attributes",
  validateCohort(config, cohort, identifier, at) {
    const problems: Diagnostic[] = [];
    const error = (field: string, code: string, message: string) => problems.push({ severity: "error", code, message, ...located(at(field)) });
    if (cohort.attribute === undefined) {
      error("destination", "config.attribute_missing", `${cohort.address} is sent to ${config.name} (braze_attributes): say which attribute marks membership, e.g. attribute: coho_vip, or attribute: { name: coho_cohorts, value: vip }`);
    }
    const device = identifier ? identifierParts(identifier).find((p) => p.type === "device_id") : undefined;
    if (device) {
      error("identifier", "config.identifier_unsupported", `${cohort.address}: identifier ${device.name} is a device_id, which /users/track cannot address (destination ${config.name} is braze_attributes); use an external_id or alias identifier, or send this cohort to a braze_cohorts destination`);
    }
    if (identifier?.type === "alias" && config.missingProfiles === "create") {
      // Braze's User Attributes Object: with a user_alias, "Update Only" defaults to true;
      // false would create an alias-only profile beside the user's real one, not the user.
      problems.push({
        severity: "error",
        code: "config.missing_profiles_alias",
        message: `${cohort.address}: identifier ${identifier.name} is an alias, and destination ${config.name} has missing_profiles: create; Braze treats alias objects as update-only and would create alias-only profiles, not the users: use missing_profiles: wait (or ignore), or an external_id identifier`,
        ...located(at("identifier")),
        ...related(config.missingProfilesOrigin),
      });
    }
    if (cohort.onLeaveOrigin && cohort.attribute?.kind === "array") {
      problems.push({ severity: "error", code: "config.on_leave_unsupported", message: `${cohort.address}: on_leave applies to a boolean attribute (attribute: coho_vip); on the array attribute ${cohort.attribute.name} a leaving member's value is removed from the array, so there is nothing to choose: remove on_leave`, location: cohort.onLeaveOrigin });
    }
    // A set instance's binding is rendered from templates: check it as Braze would.
    const rendered = cohort.instanceOf && cohort.attribute ? bindingProblem(cohort.attribute) : undefined;
    if (rendered) error("attribute", "config.set_attribute", `${cohort.address} (template ${describeTemplate(cohort.instanceOf!.attributeTemplate ?? cohort.attribute!)}, key ${JSON.stringify(cohort.instanceOf!.key)}): ${rendered}`);
    if (cohort.cohortId !== undefined) {
      error("cohort_id", "config.cohort_id_unsupported", `${cohort.address}: cohort_id adopts a Braze cohort, which destination ${config.name} (braze_attributes) has none of: remove cohort_id`);
    }
    return problems;
  },
  validateCohorts(_config, cohorts, at) {
    const problems: Diagnostic[] = [];
    const owners = new Map<string, CohortConfig>();
    const kinds = new Map<string, { kind: string; cohort: CohortConfig }>();
    for (const cohort of cohorts) {
      const binding = cohort.attribute;
      // A set's binding is a template: its instances are checked once the plan renders them.
      if (!binding || cohort.forEach) continue;
      const kind = kinds.get(binding.name);
      if (kind && kind.kind !== binding.kind) {
        problems.push({ severity: "error", code: "config.attribute_conflict", message: `${cohort.address}: attribute ${binding.name} is an array attribute in one cohort and a boolean in ${kind.cohort.address}; one attribute has one type`, ...located(at(cohort, "attribute")), ...related(at(kind.cohort, "attribute")) });
        continue;
      }
      if (!kind) kinds.set(binding.name, { kind: binding.kind, cohort });
      const key = binding.kind === "boolean" ? binding.name : `${binding.name}\u0000${binding.value}`;
      const owner = owners.get(key);
      if (owner) {
        const what = binding.kind === "boolean" ? `boolean attribute ${binding.name}` : `value "${binding.value}" of array attribute ${binding.name}`;
        problems.push({ severity: "error", code: "config.attribute_shared", message: sharedMessage(cohort, owner, what), ...located(at(cohort, "attribute")), ...related(at(owner, "attribute")) });
      } else {
        owners.set(key, cohort);
      }
    }
    return problems;
  },
  targetOf: (cohort) => (cohort.attribute ? bindingTarget(cohort.attribute) : undefined),
  requestSize: (config) => config.batchSize,
  estimate(config, work) {
    // One attributes object per changed member, one attribute update (data point) each.
    const requests = work.sends.reduce((n, s) => n + Math.ceil((s.add + s.remove) / config.batchSize), 0);
    const updates = work.sends.reduce((n, s) => n + s.add + s.remove, 0);
    // missing_profiles: wait reads every request's additions back, 50 ids per export.
    const readBacks = config.missingProfiles === "wait" ? work.sends.reduce((n, s) => n + confirmRequests(s.add, config.batchSize), 0) : 0;
    const seconds = (requests * config.rateLimit.windowSeconds) / config.rateLimit.requests + (readBacks * 60) / EXPORT_REQUESTS_PER_MINUTE;
    return { requests, attribute_updates: updates, seconds: roundSeconds(seconds), ...(readBacks > 0 ? { read_back_requests: readBacks } : {}) };
  },
  open: (config, options) => new AttributesClient(config, options),
  // Every binding of one destination shares requests: one attributes object per
  // user carries any number of attributes (boolean values and array add/remove
  // alike), and `_update_existing_only` is set per destination, so all of its
  // objects agree on it.
  mergeKey: (target) => (parseBindingTarget(target) ? "attributes" : undefined),
  // Braze bills one data point per attribute an object updates.
  mergeField: (target) => parseBindingTarget(target)?.name,
  planGuards: arrayCapVerdicts,
  // The array cap is one setting of the workspace's attribute: the lowest configured value guards it.
  mergeWorkspace: (configs) => ({ ...configs[0]!, name: configs.map((c) => c.name).join(" and "), maxArrayValues: Math.min(...configs.map((c) => c.maxArrayValues)) }),
  drift(config, target, value) {
    const binding = parseBindingTarget(target);
    if (!binding) return undefined;
    if (value.kind === "absent") return "absent";
    if (holdsMembership(binding, value.value)) return undefined;
    // A full array that lost coho's value: Braze evicted the oldest to make room.
    if (binding.kind === "array" && Array.isArray(value.value) && value.value.length >= config.maxArrayValues) return "evicted";
    return "changed";
  },
};

/**
 * Export requests that confirm `add` additions packed `batchSize` to a request,
 * additions first (packBatches): each request's additions are read back in
 * chunks of 50, so a full request of 75 takes two.
 */
function confirmRequests(add: number, batchSize: number): number {
  return Math.floor(add / batchSize) * Math.ceil(batchSize / EXPORT_IDS_PER_REQUEST) + Math.ceil((add % batchSize) / EXPORT_IDS_PER_REQUEST);
}

/** Two cohorts writing one attribute (or one array value); set instances name their template and key. */
function sharedMessage(cohort: CohortConfig, owner: CohortConfig, what: string): string {
  const origin = (c: CohortConfig) => (c.instanceOf ? ` (template ${describeTemplate(c.instanceOf.attributeTemplate ?? c.attribute!)}, key ${JSON.stringify(c.instanceOf.key)})` : "");
  const fix = cohort.instanceOf || owner.instanceOf ? "; make the set's attribute template tell them apart, e.g. with {key}" : "";
  // Two destination names for one endpoint and key are one workspace: one profile per user.
  const place = cohort.destination === owner.destination ? "" : ` (destinations ${owner.destination} and ${cohort.destination} reach one Braze workspace: the same rest_endpoint and api_key)`;
  return `${cohort.address}${origin(cohort)} writes the ${what}, which ${owner.address}${origin(owner)} writes already${place}: each cohort needs its own attribute (or its own value)${fix}`;
}

function located(location: Diagnostic["location"]): { location?: NonNullable<Diagnostic["location"]> } {
  return location ? { location } : {};
}

function related(location: Diagnostic["location"]): { related?: NonNullable<Diagnostic["location"]> } {
  return location ? { related: location } : {};
}
