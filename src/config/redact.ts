/**
 * Secret redaction for anything that leaves the process (config.get, logs, CLI output).
 * A string under a sensitive key becomes `__OPENCLAW_REDACTED__`; SecretRefs are kept
 * (they name where a secret lives, not the secret).
 */
import { isPlainObject } from "./keypath.ts";
import { issuePath, SecretInput } from "./schema.ts";

export const REDACTED = "__OPENCLAW_REDACTED__";

/** Keys whose string values are secrets: `token`, `apiKeys`, `clientSecret`, `bot_token`, `credentials`… */
const SENSITIVE_KEY = /(token|password|passphrase|secret|api_?key|private_?key|credential)s?$/i;

export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key);
}

/** The top-level `secrets` table configures secret providers; its own name is not a secret. */
const NOT_SENSITIVE_AT_ROOT = new Set(["secrets"]);

/** Deep copy with sensitive string values replaced; collects the secrets it removed. */
export function redactConfig<T>(value: T, found: Set<string> = new Set()): T {
  const walk = (v: unknown, sensitive: boolean): unknown => {
    if (typeof v === "string") {
      if (sensitive && v !== "") {
        found.add(v);
        return REDACTED;
      }
      return v;
    }
    if (Array.isArray(v)) return v.map((x) => walk(x, sensitive));
    if (v && typeof v === "object") {
      // A SecretRef is a pointer, not a secret: keep it (and keep its words out of `found`).
      if (sensitive && SecretInput.safeParse(v).success) return { ...v };
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const keySensitive = isSensitiveKey(k) && !(v === value && NOT_SENSITIVE_AT_ROOT.has(k));
        out[k] = walk(x, sensitive || keySensitive);
      }
      return out;
    }
    return v;
  };
  return walk(value, false) as T;
}

/** Secrets at least this long are removed everywhere in raw text (comments included). */
const LONG_SECRET = 8;

/**
 * Remove the given secrets from raw JSON5 text. Secrets of 8+ characters are replaced wherever
 * they occur (JSON-escaped forms too); shorter ones only where they are a whole string literal,
 * so a short secret never rewrites keys or unrelated words.
 */
export function redactText(text: string, secrets: Iterable<string>): string {
  let out = text;
  const list = [...secrets].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  for (const secret of list) {
    const escaped = JSON.stringify(secret).slice(1, -1);
    for (const form of new Set([secret, escaped])) {
      if (secret.length >= LONG_SECRET) out = out.split(form).join(REDACTED);
      else for (const q of ['"', "'"]) out = out.split(`${q}${form}${q}`).join(`${q}${REDACTED}${q}`);
    }
  }
  return out;
}

/**
 * A client that read the redacted config (`config.get`) and sends it back must not turn its
 * secrets into the placeholder. Every string in `incoming` that carries `__OPENCLAW_REDACTED__`
 * is replaced by the current value at the same path when redacting that value gives exactly the
 * incoming string. Anything else carrying the placeholder is refused (its paths are returned),
 * so a placeholder can never be written as a secret.
 */
export function restoreRedacted(incoming: unknown, current: unknown): { doc: unknown; unresolved: string[] } {
  const secrets = new Set<string>();
  redactConfig(current, secrets);
  const unresolved: string[] = [];
  const walk = (v: unknown, cur: unknown, path: Array<string | number>, sensitive: boolean): unknown => {
    if (typeof v === "string") {
      if (!v.includes(REDACTED)) return v;
      if (typeof cur === "string") {
        const forms = new Set([redactText(cur, secrets)]);
        if (sensitive) forms.add(REDACTED);
        if (forms.has(v)) return cur;
      }
      unresolved.push(issuePath(path));
      return v;
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, Array.isArray(cur) ? cur[i] : undefined, [...path, i], sensitive));
    if (v && typeof v === "object") {
      const out: Record<string, unknown> = {};
      const curObj = isPlainObject(cur) ? cur : undefined;
      for (const [k, x] of Object.entries(v)) {
        const keySensitive = isSensitiveKey(k) && !(path.length === 0 && NOT_SENSITIVE_AT_ROOT.has(k));
        out[k] = walk(x, curObj?.[k], [...path, k], sensitive || keySensitive);
      }
      return out;
    }
    return v;
  };
  return { doc: walk(incoming, current, [], false), unresolved };
}

/** True when text contains a redaction placeholder (such text is never promoted or written as a secret). */
export function containsRedactionPlaceholder(text: string): boolean {
  return text.includes(REDACTED) || text.includes('"***"') || text.includes('"[redacted]"');
}
