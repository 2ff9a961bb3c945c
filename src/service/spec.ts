/**
 * What a gateway service is called and what it runs, independent of the service manager:
 * names per profile, the program (this executable, or Bun on `src/main.ts` from a checkout),
 * the recorded port, the non-secret environment written into the definition and the secrets
 * that go to an owner-only environment file.
 */
import { resolve } from "node:path";
import type { InstalledDefinition } from "./types.ts";

export type Scope = "user" | "system";

export interface ServiceIdentity {
  profile: string | undefined;
  /** `openclaw-gateway.service` / `openclaw-gateway-<profile>.service` */
  systemdUnit: string;
  /** `ai.openclaw.gateway` / `ai.openclaw.<profile>` */
  launchdLabel: string;
  /** `OpenClaw Gateway` / `OpenClaw Gateway (<profile>)` */
  taskName: string;
  /** `OpenClaw Gateway` / `OpenClaw Gateway (profile: <profile>)` */
  description: string;
  /** `openclaw` / `openclaw-<profile>`: the system unit's StateDirectory= and env file name. */
  systemName: string;
  /** `gateway` / `gateway-<profile>`: log and env file stems. */
  stem: string;
}

export function serviceIdentity(profile: string | undefined): ServiceIdentity {
  const p = profile && profile !== "default" ? profile : undefined;
  return {
    profile: p,
    systemdUnit: p ? `openclaw-gateway-${p}.service` : "openclaw-gateway.service",
    launchdLabel: p ? `ai.openclaw.${p}` : "ai.openclaw.gateway",
    taskName: p ? `OpenClaw Gateway (${p})` : "OpenClaw Gateway",
    description: p ? `OpenClaw Gateway (profile: ${p})` : "OpenClaw Gateway",
    systemName: p ? `openclaw-${p}` : "openclaw",
    stem: p ? `gateway-${p}` : "gateway",
  };
}

/** Profiles that would collide with another service's launchd label. */
export const RESERVED_LAUNCHD_PROFILES = ["gateway", "node"];

/**
 * How to run this openclaw: the compiled executable itself, or — from a source checkout —
 * Bun with the absolute path of the entry script.
 */
export function serviceProgram(execPath = process.execPath, entry = process.argv[1]): string[] {
  if (!entry || entry === execPath || entry.startsWith("/$bunfs/") || /^[A-Za-z]:\\~BUN\\/.test(entry)) return [execPath];
  return [execPath, resolve(entry)];
}

/** Keys written into every service definition (besides HOME/PATH/TMPDIR). */
export const SERVICE_MARKER = "openclaw";
export const SERVICE_KIND = "gateway";

export interface InstallSpec {
  identity: ServiceIdentity;
  scope: Scope;
  /** Program and arguments, absolute: `<program...> gateway --port <port>`. */
  programArguments: string[];
  port: number;
  stateDir: string;
  configPath: string;
  workingDirectory: string;
  /** Non-secret environment, in the order written. */
  environment: Array<[string, string]>;
  /** Secret environment (tokens, API keys): only ever written to `envFile` (mode 0600). */
  secrets: Array<[string, string]>;
  envFile: string;
  /** System scope: run as this existing account instead of a DynamicUser. */
  serviceUser?: string;
  /** launchd: stdout/stderr log files. */
  logFiles?: { stdout: string; stderr: string };
}

export class ServiceSpecError extends Error {
  override name = "ServiceSpecError";
}

/** The gateway command line recorded in a service definition. */
export function gatewayArguments(program: string[], port: number): string[] {
  return [...program, "gateway", "--port", String(port)];
}

/**
 * The recorded port of a definition: `--port N` in its arguments, else
 * `OPENCLAW_GATEWAY_PORT` in its environment.
 */
function recordedPort(args: string[], env: Record<string, string>): number | undefined {
  const i = args.indexOf("--port");
  const raw = i >= 0 ? args[i + 1] : args.find((a) => a.startsWith("--port="))?.slice(7);
  const fromArgs = raw !== undefined && /^\d{1,5}$/.test(raw) ? Number(raw) : undefined;
  if (fromArgs) return fromArgs;
  const fromEnv = env.OPENCLAW_GATEWAY_PORT;
  return fromEnv && /^\d{1,5}$/.test(fromEnv) ? Number(fromEnv) : undefined;
}

/** What a definition reader finds in the file; the rest of an `InstalledDefinition` follows from it. */
type DefinitionFields = Pick<InstalledDefinition, "path" | "scope" | "text" | "programArguments" | "workingDirectory" | "environment" | "envFile">;

/** A definition read back from disk, with the port, state dir, config and profile it records. */
export function installedDefinition(fields: DefinitionFields): InstalledDefinition {
  const env = fields.environment;
  return {
    ...fields,
    port: recordedPort(fields.programArguments, env),
    stateDir: env.OPENCLAW_STATE_DIR,
    configPath: env.OPENCLAW_CONFIG_PATH,
    profile: env.OPENCLAW_PROFILE,
  };
}

/** A portable environment variable name. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function assertEnvName(key: string): void {
  if (!ENV_NAME.test(key)) throw new ServiceSpecError(`Invalid environment variable name "${key}".`);
}

/** Reject values a line-based definition cannot hold. */
export function assertSingleLine(what: string, value: string): void {
  if (/[\r\n\0]/.test(value)) throw new ServiceSpecError(`${what} contains a line break or NUL byte; service definitions cannot hold it.`);
}
