import type { AttributeBinding } from "./project.js";

/**
 * Templates of cohort-set fields (name, cohort_id, and destination fields that
 * name a Braze object): `{key}` is the instance's key value, `{label}` the model's
 * `label` column; `{{` and `}}` are literal braces. Pure.
 */
export const TEMPLATE_VARIABLES = ["key", "label"] as const;
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];

const TOKEN = /\{\{|\}\}|\{([^{}]*)\}|[{}]/g;

/** The variables a template uses, or the first problem with it. */
export function templateVariables(template: string): { variables: Set<TemplateVariable> } | { problem: string } {
  const variables = new Set<TemplateVariable>();
  for (const match of template.matchAll(TOKEN)) {
    const token = match[0];
    if (token === "{{" || token === "}}") continue;
    const name = match[1];
    if (name === undefined) return { problem: `a lone "${token}" (write {{ or }} for a literal brace)` };
    if (!(TEMPLATE_VARIABLES as readonly string[]).includes(name)) {
      return { problem: `unknown placeholder {${name}}; use ${TEMPLATE_VARIABLES.map((v) => `{${v}}`).join(" or ")}` };
    }
    variables.add(name as TemplateVariable);
  }
  return { variables };
}

/** The template with its placeholders filled; `{label}` falls back to the key when the model has no label. */
export function renderTemplate(template: string, values: { readonly key: string; readonly label: string | undefined }): string {
  return template.replace(TOKEN, (token, name: string | undefined) => {
    if (token === "{{") return "{";
    if (token === "}}") return "}";
    if (name === "key") return values.key;
    if (name === "label") return values.label ?? values.key;
    return token;
  });
}

/** A set's attribute binding for one instance: the attribute name and the array value are templates. */
export function renderBinding(binding: AttributeBinding, values: { readonly key: string; readonly label: string | undefined }): AttributeBinding {
  if (binding.kind === "boolean") return { ...binding, name: renderTemplate(binding.name, values) };
  return { ...binding, name: renderTemplate(binding.name, values), value: renderTemplate(binding.value, values) };
}

/** The templates of a binding by field (`attribute`, or `attribute.name` and `attribute.value`). */
export function bindingTemplates(binding: AttributeBinding): { readonly path: readonly string[]; readonly template: string }[] {
  if (binding.kind === "boolean") return [{ path: ["attribute"], template: binding.name }];
  return [{ path: ["attribute", "name"], template: binding.name }, { path: ["attribute", "value"], template: binding.value }];
}
