/**
 * Newer-config guard. Every config write stamps `meta.lastTouchedVersion`; when that version is
 * newer than this binary, service and process mutations refuse (an older binary on PATH must not
 * stop, reinstall or kill a gateway that a newer install manages). Read-only commands are never
 * guarded. `OPENCLAW_ALLOW_OLDER_BINARY_DESTRUCTIVE_ACTIONS=1|true|yes` lets one command through;
 * it is read from the process environment only (never from `.env` or the config) and ignored in
 * service mode.
 *
 * Versions are OpenClaw calendar versions, `YYYY.M.D`, optionally `-beta.N` (older than the
 * release) or a correction `-N` (equal to its base), so configs written by the original compare
 * correctly with ours.
 */
import { readFileSync } from "node:fs";
import { VERSION } from "../version.ts";
import { parseConfigText } from "./load.ts";
import type { Env } from "./paths.ts";

export interface CalVer {
  year: number;
  month: number;
  day: number;
  /** `beta.N` → N; undefined for releases (corrections included). */
  beta?: number;
}

export function parseCalVer(text: string | undefined): CalVer | undefined {
  if (typeof text !== "string") return undefined;
  const m = /^v?(\d{4})\.(\d{1,2})\.(\d{1,2})(?:-(beta)\.(\d+)|-(\d+))?$/.exec(text.trim());
  if (!m) return undefined;
  const v: CalVer = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
  if (m[4]) v.beta = Number(m[5]);
  return v;
}

/** <0, 0, >0 like a comparator; undefined when either side is not a calendar version. */
export function compareCalVer(a: string | undefined, b: string | undefined): number | undefined {
  const x = parseCalVer(a);
  const y = parseCalVer(b);
  if (!x || !y) return undefined;
  for (const k of ["year", "month", "day"] as const) if (x[k] !== y[k]) return x[k] - y[k];
  // A beta precedes its release; corrections equal the release.
  const bx = x.beta ?? Number.POSITIVE_INFINITY;
  const by = y.beta ?? Number.POSITIVE_INFINITY;
  return bx === by ? 0 : bx < by ? -1 : 1;
}

/** The `<action>` words of the refusal, as upstream prints them. */
export const GuardedAction = {
  serviceStartup: "start the gateway service",
  forcePortCleanup: "force-kill gateway port listeners",
  startupMigrations: "run automatic gateway startup migrations",
  devReset: "reset the dev gateway state",
  serviceInstall: "reinstall the gateway service",
  serviceUninstall: "uninstall the gateway service",
  serviceStop: "stop the gateway service",
  serviceRestart: "restart the gateway service",
} as const;

export const ALLOW_OLDER_ENV = "OPENCLAW_ALLOW_OLDER_BINARY_DESTRUCTIVE_ACTIONS";

export function isServiceMode(env: Env = process.env): boolean {
  return Boolean(env.OPENCLAW_SERVICE_MARKER?.trim());
}

function truthy(value: string | undefined): boolean {
  return /^(1|true|yes)$/i.test(value?.trim() ?? "");
}

export class NewerConfigError extends Error {
  override name = "NewerConfigError";
  constructor(
    readonly lines: string[],
    readonly exitCode: number,
    readonly touchedVersion: string,
  ) {
    super(lines.join("\n"));
  }
}

export function newerConfigLines(action: string, touched: string, current: string = VERSION): string[] {
  return [
    `Refusing to ${action} because this OpenClaw binary (${current}) is older than the config last written by OpenClaw ${touched}.`,
    "Run the newer openclaw binary on PATH, or reinstall the intended gateway service from the newer install.",
    `Set ${ALLOW_OLDER_ENV}=1 only for an intentional downgrade or recovery action.`,
  ];
}

export interface GuardInput {
  /** `meta.lastTouchedVersion` of the active config (undefined: nothing to compare). */
  touchedVersion: string | undefined;
  action: string;
  /** Exit code of the refusal: 78 for service-mode startup, 1 otherwise. */
  exitCode?: number;
  env?: Env;
  currentVersion?: string;
}

/**
 * Throws `NewerConfigError` when the config was last written by a newer OpenClaw and the
 * override is not set (or we run in service mode, where the override is ignored).
 */
export function assertNotNewerConfig(input: GuardInput): void {
  const env = input.env ?? process.env;
  const current = input.currentVersion ?? VERSION;
  const cmp = compareCalVer(input.touchedVersion, current);
  if (cmp === undefined || cmp <= 0) return;
  if (truthy(env[ALLOW_OLDER_ENV]) && !isServiceMode(env)) return;
  throw new NewerConfigError(newerConfigLines(input.action, input.touchedVersion as string, current), input.exitCode ?? 1, input.touchedVersion as string);
}

/**
 * `meta.lastTouchedVersion` straight from the file (parsed only, never validated, so a config
 * that is otherwise broken is still guarded). Missing or unparseable file → undefined.
 */
export async function readTouchedVersion(configPath: string): Promise<string | undefined> {
  let text: string;
  try {
    text = readFileSync(configPath, "utf8");
  } catch {
    return undefined;
  }
  try {
    const doc = parseConfigText(text) as { meta?: { lastTouchedVersion?: unknown } } | null;
    const v = doc?.meta?.lastTouchedVersion;
    return typeof v === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}
