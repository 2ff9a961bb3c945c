/**
 * Operator scopes and their implications:
 *   admin => everything; write => read, talk, sessions.read, sessions.write;
 *   read or sessions.write => sessions.read.
 */
export const SCOPES = [
  "operator.admin",
  "operator.read",
  "operator.write",
  "operator.sessions.read",
  "operator.sessions.write",
  "operator.approvals",
  "operator.questions",
  "operator.pairing",
  "operator.talk",
  "operator.talk.secrets",
] as const;
export type Scope = (typeof SCOPES)[number];

export const ADMIN: Scope = "operator.admin";
export const READ: Scope = "operator.read";
export const WRITE: Scope = "operator.write";

const IMPLIES: Partial<Record<Scope, Scope[]>> = {
  "operator.write": ["operator.read", "operator.talk", "operator.sessions.read", "operator.sessions.write"],
  "operator.read": ["operator.sessions.read"],
  "operator.sessions.write": ["operator.sessions.read"],
};

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** True when the granted scopes cover `required`. */
export function hasScope(granted: readonly string[], required: Scope): boolean {
  // Per request and per broadcast recipient: a scope held as such needs no walk.
  if (granted.includes(ADMIN) || granted.includes(required)) return true;
  const seen = new Set<string>();
  const stack = [...granted];
  while (stack.length) {
    const s = stack.pop()!;
    if (s === required) return true;
    if (seen.has(s)) continue;
    seen.add(s);
    for (const implied of IMPLIES[s as Scope] ?? []) stack.push(implied);
  }
  return false;
}

/**
 * CLI "Capability" of a scope set, spelled as the original's JSON (`read_only`, …); human
 * output spells it with hyphens (`read-only`).
 */
export function capabilityOf(scopes: readonly string[]): string {
  if (scopes.includes(ADMIN)) return "admin_capable";
  if (hasScope(scopes, WRITE)) return "write_capable";
  if (hasScope(scopes, READ)) return "read_only";
  return "connected_no_operator_scope";
}

/** A probe target's capability as the original's per-target line says it. */
export function capabilityLabel(capability: string): string {
  switch (capability) {
    case "admin_capable":
      return "Capability: admin-capable";
    case "write_capable":
      return "Capability: write-capable";
    case "read_only":
      return "Capability: read-only";
    case "connected_no_operator_scope":
      return "Capability: connect-only";
    case "pairing_pending":
      return "Capability: pairing pending";
    default:
      return "Capability: unknown";
  }
}
