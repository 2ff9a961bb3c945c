/** Shapes shared by the three service managers and the CLI. */
import type { InstallSpec, Scope } from "./spec.ts";

export interface ServiceRuntime {
  status: "running" | "stopped" | "unknown";
  pid?: number;
  /** systemd ActiveState / launchd state / task status */
  state?: string;
  subState?: string;
  lastExitStatus?: number;
  restarts?: number;
  detail?: string;
}

/** A service definition read back from disk. */
export interface InstalledDefinition {
  path: string;
  scope: Scope;
  text: string;
  programArguments: string[];
  workingDirectory?: string;
  /** Environment written inline in the definition (never secrets when we wrote it). */
  environment: Record<string, string>;
  /** Owner-only environment file the definition loads, if any. */
  envFile?: string;
  port?: number;
  stateDir?: string;
  configPath?: string;
  profile?: string;
}

export interface ServiceState {
  manager: "systemd" | "launchd" | "schtasks";
  /** Human label: `systemd`, `LaunchAgent`, `Scheduled Task` (or `Startup-folder login item`). */
  label: string;
  /** Unit / label / task name. */
  name: string;
  scope: Scope;
  installed: boolean;
  /** enabled / loaded / registered */
  loaded: boolean;
  loadedText: string;
  notLoadedText: string;
  definition?: InstalledDefinition;
  runtime: ServiceRuntime;
  /** The service manager could not be asked (no user bus, no GUI session, ...). */
  unavailable?: string;
  /** Same-name definitions in the other scope (a user unit and a system unit). */
  otherScope?: { scope: Scope; path: string };
  /** Hint for reading the service's logs. */
  logsHint?: string;
}

export interface PlannedFile {
  path: string;
  mode: number;
  content: string | Uint8Array;
  /** Secret content: `--print` shows keys, never values. */
  secret?: boolean;
  description: string;
}

export interface PlannedInstall {
  files: PlannedFile[];
  /** Files a reinstall removes (e.g. an env file that is no longer needed). */
  remove: string[];
  /** Commands install runs afterwards, for `--print`. */
  commands: string[][];
}

export interface ActionOutcome {
  ok: boolean;
  exitCode: number;
  action: "install" | "uninstall" | "start" | "stop" | "restart";
  /** Machine-readable result: installed, already-installed, refreshed, started, already-running, ... */
  result: string;
  /** What was done, in order (stdout). */
  lines: string[];
  /** Warnings and hints (stderr). */
  warnings: string[];
  state?: ServiceState;
}

export interface InstallOptions {
  force?: boolean;
}

export interface ServiceManager {
  readonly kind: ServiceState["manager"];
  inspect(): Promise<ServiceState>;
  /** The definition `inspect()` reports, read from disk without asking the service manager. */
  definition(): Promise<InstalledDefinition | undefined>;
  plan(spec: InstallSpec): PlannedInstall;
  install(spec: InstallSpec, opts: InstallOptions): Promise<ActionOutcome>;
  uninstall(): Promise<ActionOutcome>;
  start(): Promise<ActionOutcome>;
  stop(opts: { disable?: boolean }): Promise<ActionOutcome>;
  restart(): Promise<ActionOutcome>;
}

export function outcome(action: ActionOutcome["action"], result: string, ok: boolean, lines: string[], warnings: string[] = [], state?: ServiceState): ActionOutcome {
  return { ok, exitCode: ok ? 0 : 1, action, result, lines, warnings, state };
}
