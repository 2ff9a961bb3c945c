/**
 * Secret redaction for anything that leaves the process (config.get, logs, CLI output).
 * A string under a sensitive key becomes `__OPENCLAW_REDACTED__`; SecretRefs are kept
 * (they name where a secret lives, not the secret).
 */
export const REDACTED = "__OPENCLAW_REDACTED__";

const SENSITIVE_KEY = /(token|password|secret|apikey|api_key|privatekey|private_key|credential)/i;

export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key);
}

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
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x, sensitive || isSensitiveKey(k));
      return out;
    }
    return v;
  };
  return walk(value, false) as T;
}

/** Replace every occurrence of the given secrets in raw file text (JSON-escaped forms too). */
export function redactText(text: string, secrets: Iterable<string>): string {
  let out = text;
  const list = [...secrets].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  for (const secret of list) {
    for (const form of new Set([secret, JSON.stringify(secret).slice(1, -1)])) {
      out = out.split(form).join(REDACTED);
    }
  }
  return out;
}
