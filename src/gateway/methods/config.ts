/** `config.get`: the config file as it is now (re-read), plus the effective config, redacted. */
import { z } from "../../zod.ts";
import { ConfigError, readConfigFile } from "../../config/load.ts";
import { redactConfig, redactText } from "../../config/redact.ts";
import { validateConfig, type ConfigIssue } from "../../config/schema.ts";
import { defineMethod } from "./types.ts";

export function configHash(raw: string | null | undefined, hexDigest?: string | null): string | null {
  if (raw == null) return null;
  return `sha256:${hexDigest ?? new Bun.CryptoHasher("sha256").update(raw).digest("hex")}`;
}

export const configGetMethod = defineMethod({
  name: "config.get",
  scope: "operator.read",
  params: z.looseObject({}),
  handler: async (_params, { ctx }) => {
    const path = ctx.loaded.paths.configPath;
    let exists = false;
    let raw: string | null = null;
    let parsed: unknown;
    let hash: string | null = null;
    let issues: ConfigIssue[] = [];
    try {
      const file = await readConfigFile(path);
      exists = file.exists;
      raw = file.raw;
      parsed = file.parsed;
      hash = configHash(file.raw, file.hash);
      const check = validateConfig(file.parsed);
      if (!check.ok) issues = check.issues;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      exists = err.kind !== "read";
      issues = err.issues;
    }
    const secrets = new Set<string>();
    const parsedRedacted = parsed === undefined ? undefined : redactConfig(parsed, secrets);
    const effective = redactConfig(ctx.loaded.config, secrets);
    const payload: Record<string, unknown> = {
      path,
      includedPaths: [],
      includeProvenance: [],
      exists,
      valid: issues.length === 0,
      raw: raw === null ? null : redactText(raw, secrets),
      parsed: parsedRedacted ?? null,
      sourceConfig: parsedRedacted ?? {},
      resolved: parsedRedacted ?? {},
      config: effective,
      runtimeConfig: effective,
      issues,
      warnings: ctx.loaded.warnings,
      legacyIssues: [],
      hash,
      configRevisionHash: hash,
      appliedConfigHash: configHash(ctx.loaded.raw, ctx.loaded.hash),
    };
    return payload;
  },
});
