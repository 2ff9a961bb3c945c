/**
 * The environment a gateway service runs with. Non-secret keys are written into the service
 * definition; secrets (the gateway token/password from the installing shell or `--token`, and
 * every variable the config refers to through `${VAR}` or an env SecretRef) are written only to
 * an owner-only environment file.
 */
import type { Env } from "../config/paths.ts";
import type { ServiceHost } from "./host.ts";
import { SERVICE_KIND, SERVICE_MARKER, type Scope, type ServiceIdentity } from "./spec.ts";

export type ManagerKind = "systemd" | "launchd" | "schtasks";

/** Keys we never take from the config's `${VAR}` references (they are ours or the OS's). */
const RESERVED = new Set(["HOME", "PATH", "TMPDIR", "USER", "LOGNAME", "SHELL", "PWD", "USERPROFILE", "APPDATA"]);

export const SECRET_GATEWAY_KEYS = ["OPENCLAW_GATEWAY_TOKEN", "OPENCLAW_GATEWAY_PASSWORD"] as const;

/** A PATH that does not depend on the installing shell's version managers or shims. */
function minimalPath(host: ServiceHost, scope: Scope, kind: ManagerKind): string {
  if (kind === "schtasks") return "";
  if (kind === "launchd") return "/opt/homebrew/bin:/opt/homebrew/sbin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
  const dirs = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
  if (scope === "user") dirs.push(host.path.join(host.home, ".local", "bin"), host.path.join(host.home, "bin"));
  return dirs.join(":");
}

export interface EnvironmentInput {
  identity: ServiceIdentity;
  scope: Scope;
  kind: ManagerKind;
  port: number;
  home: string;
  stateDir: string;
  configPath: string;
  secretKeys: string[];
}

/** The non-secret environment, in the order written into the definition. */
export function serviceEnvironment(host: ServiceHost, input: EnvironmentInput): Array<[string, string]> {
  const env: Array<[string, string]> = [["HOME", input.home]];
  const path = minimalPath(host, input.scope, input.kind);
  if (path) env.push(["PATH", path]);
  if (input.kind === "launchd") env.push(["TMPDIR", host.path.join(input.stateDir, "tmp")]);
  env.push(["OPENCLAW_STATE_DIR", input.stateDir], ["OPENCLAW_CONFIG_PATH", input.configPath]);
  if (input.identity.profile) env.push(["OPENCLAW_PROFILE", input.identity.profile]);
  env.push(["OPENCLAW_GATEWAY_PORT", String(input.port)]);
  if (input.kind === "systemd") env.push(["OPENCLAW_SYSTEMD_UNIT", input.identity.systemdUnit]);
  if (input.kind === "launchd") env.push(["OPENCLAW_LAUNCHD_LABEL", input.identity.launchdLabel]);
  if (input.kind === "schtasks") env.push(["OPENCLAW_WINDOWS_TASK_NAME", input.identity.taskName], ["OPENCLAW_WINDOWS_TASK_HIDDEN_LAUNCHER", "1"]);
  env.push(["OPENCLAW_SERVICE_MARKER", SERVICE_MARKER], ["OPENCLAW_SERVICE_KIND", SERVICE_KIND]);
  const managed = [...env.map(([k]) => k).filter((k) => k.startsWith("OPENCLAW_")), "OPENCLAW_SERVICE_MANAGED_ENV_KEYS", ...input.secretKeys];
  env.push(["OPENCLAW_SERVICE_MANAGED_ENV_KEYS", [...new Set(managed)].sort().join(",")]);
  return env;
}

const ENV_REF = /(\$?)\$\{([A-Z_][A-Z0-9_]*)\}/g;

/** Names of environment variables a config refers to: `${VAR}` in strings and `{source:"env", id}` SecretRefs. */
export function configEnvReferences(value: unknown, out = new Set<string>()): Set<string> {
  if (typeof value === "string") {
    for (const m of value.matchAll(ENV_REF)) if (!m[1]) out.add(m[2]);
  } else if (Array.isArray(value)) {
    for (const v of value) configEnvReferences(v, out);
  } else if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj.source === "env" && typeof obj.id === "string" && Object.keys(obj).every((k) => k === "source" || k === "id" || k === "provider")) {
      out.add(obj.id);
    }
    for (const v of Object.values(obj)) configEnvReferences(v, out);
  }
  return out;
}

export interface CollectedSecrets {
  secrets: Array<[string, string]>;
  /** Referenced by the config but not set in this shell: the service will not have them. */
  missing: string[];
}

/**
 * Secrets for the env file: `--token`/`--password` beat the shell's OPENCLAW_GATEWAY_TOKEN /
 * OPENCLAW_GATEWAY_PASSWORD; then every variable the config file refers to, from this shell.
 */
export function collectSecrets(env: Env, opts: { token?: string; password?: string; fileConfig?: unknown }): CollectedSecrets {
  const out = new Map<string, string>();
  const token = opts.token ?? env.OPENCLAW_GATEWAY_TOKEN;
  const password = opts.password ?? env.OPENCLAW_GATEWAY_PASSWORD;
  if (token?.trim()) out.set("OPENCLAW_GATEWAY_TOKEN", token);
  if (password?.trim()) out.set("OPENCLAW_GATEWAY_PASSWORD", password);
  const missing: string[] = [];
  for (const name of [...configEnvReferences(opts.fileConfig ?? {})].sort()) {
    if (RESERVED.has(name) || (name.startsWith("OPENCLAW_") && !SECRET_GATEWAY_KEYS.includes(name as never))) continue;
    if (out.has(name)) continue;
    const value = env[name];
    if (value === undefined || value === "") missing.push(name);
    else out.set(name, value);
  }
  return { secrets: [...out.entries()].sort(([a], [b]) => a.localeCompare(b)), missing };
}

/** Environment keys safe to show (`Service env:` in status): never secrets. */
export function safeEnvironment(env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (/TOKEN|PASSWORD|SECRET|KEY$|_KEY_|API_KEY|CREDENTIAL/i.test(k) && k !== "OPENCLAW_SERVICE_MANAGED_ENV_KEYS") continue;
    out[k] = v;
  }
  return out;
}
