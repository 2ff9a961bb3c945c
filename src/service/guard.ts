/**
 * Refusals shared by the lifecycle commands and doctor: the newer-config guard (a config last
 * written by a newer OpenClaw must not be driven by an older binary's service actions) and the
 * external-supervisor / external-repair policies.
 */
import type { Env } from "../config/paths.ts";
import { ALLOW_OLDER_ENV, newerConfigLines } from "../config/version-guard.ts";
import { VERSION } from "../version.ts";

/** Compare calendar versions (`2026.9.6`, `2026.10.1-beta.2`); prerelease suffixes sort first. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const [core, pre] = v.trim().replace(/^v/, "").split("-", 2);
    return { parts: core.split(".").map((p) => Number.parseInt(p, 10) || 0), pre };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < Math.max(x.parts.length, y.parts.length); i++) {
    const d = (x.parts[i] ?? 0) - (y.parts[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  if (x.pre && !y.pre) return -1;
  if (!x.pre && y.pre) return 1;
  return 0;
}

function truthy(value: string | undefined): boolean {
  return /^(1|true|yes|on)$/i.test(value?.trim() ?? "");
}

/** The three refusal lines, or undefined when the action may go ahead. */
export function newerConfigRefusal(touchedVersion: string | undefined, action: string, env: Env, current = VERSION): string[] | undefined {
  if (!touchedVersion || compareVersions(touchedVersion, current) <= 0) return undefined;
  if (truthy(env[ALLOW_OLDER_ENV])) return undefined;
  return newerConfigLines(action, touchedVersion, current);
}

export function supervisorExternal(env: Env): boolean {
  return env.OPENCLAW_SUPERVISOR_MODE?.trim().toLowerCase() === "external";
}

export function repairPolicyExternal(env: Env): boolean {
  return env.OPENCLAW_SERVICE_REPAIR_POLICY?.trim().toLowerCase() === "external";
}

export function externalSupervisorLines(action: string): string[] {
  return [`OpenClaw gateway lifecycle is managed by an external supervisor (OPENCLAW_SUPERVISOR_MODE=external). Use that supervisor to ${action} the gateway.`];
}
