/**
 * Scope arithmetic of device pairing: how a requested role/scope set compares with an approved
 * one. These are the rules the original applies to pairing records and device tokens, which are
 * slightly different from method authorization (`protocol/scopes.ts`): a pairing grant is checked
 * scope by scope, `operator.admin` covers every `operator.*`, `operator.write` covers read, talk
 * and the session scopes, and a non-operator role (`node`) only covers its own `node.*` scopes
 * by exact match.
 */

export const OPERATOR_ROLE = "operator";
export const NODE_ROLE = "node";
const OPERATOR_PREFIX = "operator.";

const ADMIN = "operator.admin";
const READ = "operator.read";
const WRITE = "operator.write";
const TALK = "operator.talk";
const SESSIONS_READ = "operator.sessions.read";
const SESSIONS_WRITE = "operator.sessions.write";

/** The closed operator scope set a live scope-upgrade request may name. */
export const OPERATOR_SCOPES: readonly string[] = [
  ADMIN,
  READ,
  WRITE,
  SESSIONS_READ,
  SESSIONS_WRITE,
  "operator.approvals",
  "operator.questions",
  "operator.pairing",
  TALK,
  "operator.talk.secrets",
];

export function isOperatorScope(scope: string): boolean {
  return OPERATOR_SCOPES.includes(scope);
}

/** True when `granted` covers one requested operator scope. */
export function operatorScopeSatisfied(requested: string, granted: readonly string[]): boolean {
  if (!requested.startsWith(OPERATOR_PREFIX)) return false;
  if (granted.includes(requested) || granted.includes(ADMIN)) return true;
  if ((requested === READ || requested === TALK || requested === SESSIONS_READ || requested === SESSIONS_WRITE) && granted.includes(WRITE)) {
    return true;
  }
  return requested === SESSIONS_READ && (granted.includes(READ) || granted.includes(SESSIONS_WRITE));
}

/** The first requested scope (as given) that `allowed` does not cover for `role`; null when all are. */
export function missingRequestedScope(role: string, requested: readonly string[], allowed: readonly string[]): string | null {
  const r = role.trim();
  const allowedTrimmed = allowed.map((s) => s.trim());
  for (const scope of requested) {
    const s = scope.trim();
    if (!s) continue;
    const ok = r === OPERATOR_ROLE ? operatorScopeSatisfied(s, allowedTrimmed) : s.startsWith(`${r}.`) && allowedTrimmed.includes(s);
    if (!ok) return scope;
  }
  return null;
}

export function roleScopesAllow(role: string, requested: readonly string[], allowed: readonly string[]): boolean {
  return missingRequestedScope(role, requested, allowed) === null;
}

/** The first requested scope that belongs to none of the requested roles (`operator.x` needs role operator). */
export function scopeOutsideRoles(roles: readonly string[], scopes: readonly string[]): string | null {
  const prefixes = roles.map((r) => `${r.trim()}.`);
  for (const scope of scopes) {
    const s = scope.trim();
    if (!prefixes.some((p) => !s || s.startsWith(p))) return scope;
  }
  return null;
}

/**
 * A token's scope list: trimmed, de-duplicated, the implied read/write added (admin ⇒ read+write,
 * write ⇒ read) and sorted, so equal grants compare equal.
 */
export function normalizeTokenScopes(scopes: readonly string[] | undefined | null): string[] {
  if (!Array.isArray(scopes)) return [];
  const out = new Set<string>();
  for (const s of scopes) {
    if (typeof s !== "string") continue;
    const t = s.trim();
    if (t) out.add(t);
  }
  if (out.has(ADMIN)) {
    out.add(READ);
    out.add(WRITE);
  } else if (out.has(WRITE)) {
    out.add(READ);
  }
  return [...out].sort();
}

/** The scopes of `scopes` that belong to `role` (operator.* for operator, the others for the rest). */
export function scopesForRole(role: string, scopes: readonly string[] | undefined | null): string[] {
  const normalized = normalizeTokenScopes(scopes);
  return role === OPERATOR_ROLE ? normalized.filter((s) => s.startsWith(OPERATOR_PREFIX)) : normalized.filter((s) => !s.startsWith(OPERATOR_PREFIX));
}

/** Trimmed, de-duplicated, first-seen order. */
export function uniqueTrimmed(items: readonly (string | undefined | null)[]): string[] {
  const out = new Set<string>();
  for (const item of items) {
    if (typeof item !== "string") continue;
    const t = item.trim();
    if (t) out.add(t);
  }
  return [...out];
}

/** Roles merged in first-seen order from lists and single roles; undefined when there are none. */
export function mergeRoles(...items: (readonly string[] | string | undefined | null)[]): string[] | undefined {
  const flat: string[] = [];
  for (const item of items) {
    if (Array.isArray(item)) flat.push(...item);
    else if (typeof item === "string") flat.push(item);
  }
  const roles = uniqueTrimmed(flat);
  return roles.length > 0 ? roles : undefined;
}

/**
 * Scope lists merged in first-seen order. An explicit empty list is kept as `[]` (the device
 * asked for nothing); no list at all is `undefined`.
 */
export function mergeScopes(...items: (readonly string[] | undefined | null)[]): string[] | undefined {
  let sawList = false;
  const flat: string[] = [];
  for (const item of items) {
    if (!Array.isArray(item)) continue;
    sawList = true;
    flat.push(...item);
  }
  const scopes = uniqueTrimmed(flat);
  if (scopes.length === 0) return sawList ? [] : undefined;
  return scopes;
}

export function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(b);
  return a.every((x) => set.has(x));
}

export function isSubset(sub: readonly string[], sup: readonly string[]): boolean {
  const set = new Set(sup);
  return sub.every((x) => set.has(x));
}

/** Trimmed, de-duplicated and sorted (how the original shows approved access). */
export function sortedUnique(items: readonly string[] | undefined | null): string[] {
  return uniqueTrimmed(items ?? []).sort();
}
