/**
 * Service lifecycle entry points: pick the manager for this OS (systemd on Linux, launchd on
 * macOS, Task Scheduler on Windows), prepare an install (port, environment, secrets, refusals),
 * and run install / uninstall / start / stop / restart with the shared guards.
 */
import { readConfigFile } from "../config/load.ts";
import { loadSnapshot, type ConfigSnapshot } from "../config/snapshot.ts";
import type { ResolvedPaths } from "../config/paths.ts";
import type { OpenClawConfig } from "../config/schema.ts";
import { GuardedAction, readTouchedVersion } from "../config/version-guard.ts";
import { initialConfig, writeConfig } from "../config/write.ts";
import { collectSecrets, SECRET_GATEWAY_KEYS, serviceEnvironment, type ManagerKind } from "./environment.ts";
import { readText } from "./files.ts";
import { externalSupervisorLines, newerConfigRefusal, repairPolicyExternal, supervisorExternal } from "./guard.ts";
import type { ServiceHost } from "./host.ts";
import { LaunchdManager, launchdPaths } from "./launchd.ts";
import { readGatewayCmd, SchtasksManager, schtasksPaths } from "./schtasks.ts";
import { ENV_NAME, gatewayArguments, RESERVED_LAUNCHD_PROFILES, serviceIdentity, ServiceSpecError, type InstallSpec, type Scope } from "./spec.ts";
import { parseEnvFile, SystemdManager } from "./systemd.ts";
import { outcome, type ActionOutcome, type PlannedInstall, type ServiceManager, type ServiceState } from "./types.ts";

export type { ActionOutcome, ServiceState } from "./types.ts";

function managerKind(platform: string): ManagerKind | undefined {
  if (platform === "linux") return "systemd";
  if (platform === "darwin") return "launchd";
  if (platform === "win32") return "schtasks";
  return undefined;
}

export interface ManagerRequest {
  profile: string | undefined;
  /** The state dir this CLI resolves (launchd/Windows keep their scripts there). */
  stateDir: string;
  system?: boolean;
}

export function managerFor(host: ServiceHost, req: ManagerRequest): ServiceManager | undefined {
  const identity = serviceIdentity(req.profile);
  switch (managerKind(host.platform)) {
    case "systemd":
      return new SystemdManager(host, identity, req.system ? "system" : undefined);
    case "launchd":
      return new LaunchdManager(host, identity, req.stateDir);
    case "schtasks":
      return new SchtasksManager(host, identity, req.stateDir);
    default:
      return undefined;
  }
}

/** The installed service for this profile (either scope), or undefined on an unsupported OS. */
export async function inspectService(host: ServiceHost, req: ManagerRequest): Promise<ServiceState | undefined> {
  return managerFor(host, req)?.inspect();
}

// ---------------------------------------------------------------------------------------------
// Install preparation

export interface InstallRequest {
  /** What this CLI resolves (profile, state dir, config path). */
  paths: ResolvedPaths;
  port?: number;
  token?: string;
  force?: boolean;
  system?: boolean;
  serviceUser?: string;
  /** `--print`: nothing is written and no manager is asked. */
  dryRun?: boolean;
}

export interface PreparedInstall {
  manager: ServiceManager;
  spec: InstallSpec;
  plan: PlannedInstall;
  warnings: string[];
  /** Config changes install made (gateway.mode=local). */
  notes: string[];
}

export class InstallBlocked extends Error {
  override name = "InstallBlocked";
  constructor(
    readonly lines: string[],
    readonly result = "blocked",
    /** true: nothing to do but not a failure (external policy). */
    readonly benign = false,
  ) {
    super(lines.join("\n"));
  }
}

const blocked = (lines: string[], result?: string) => new InstallBlocked(lines.map((l, i) => (i === 0 ? `Gateway install blocked: ${l}` : l)), result);

/** Where the service's state lives for a scope. */
export function serviceTargetPaths(host: ServiceHost, paths: ResolvedPaths, scope: Scope): { stateDir: string; configPath: string; home: string } {
  if (scope === "system") {
    const stateDir = host.path.join(host.dirs.systemStateRoot, serviceIdentity(paths.profile).systemName);
    return { stateDir, configPath: host.path.join(stateDir, "openclaw.json"), home: stateDir };
  }
  return { stateDir: paths.stateDir, configPath: paths.configPath, home: host.home };
}

export async function prepareInstall(host: ServiceHost, req: InstallRequest): Promise<PreparedInstall> {
  const kind = managerKind(host.platform);
  if (!kind) throw blocked([`no supported service manager on ${host.platform} (systemd, launchd and Task Scheduler are supported).`], "unsupported");
  if (supervisorExternal(host.env)) throw new InstallBlocked(externalSupervisorLines("install"), "external-supervisor");
  const identity = serviceIdentity(req.paths.profile);
  if (req.system && kind !== "systemd") throw blocked(["--system is only available with systemd (Linux)."], "unsupported");
  if (kind === "launchd" && identity.profile && RESERVED_LAUNCHD_PROFILES.includes(identity.profile)) {
    throw blocked([`service management skipped: profile "${identity.profile}" is reserved on macOS (its label ai.openclaw.${identity.profile} belongs to another OpenClaw service). Use another --profile name.`]);
  }
  const scope: Scope = req.system ? "system" : "user";
  const warnings: string[] = [];
  const notes: string[] = [];

  // Who would own it: refuse duplicate managers for the same gateway name.
  const manager = managerFor(host, { profile: identity.profile, stateDir: req.paths.stateDir, system: req.system })!;
  if (!req.dryRun) await checkOwnership(host, manager, scope, identity.systemdUnit);

  // Config of the target (the CLI's own for a user service; /var/lib/<name> for a system unit).
  const target = serviceTargetPaths(host, req.paths, scope);
  const snapshot = await loadSnapshot({
    paths: { ...req.paths, ...target, configPathFromEnv: false },
    env: host.env,
    cli: req.port !== undefined ? { port: req.port } : {},
  });
  const problem = snapshot.problem;
  if (problem?.kind === "read" && req.dryRun) {
    warnings.push(`Cannot read ${target.configPath} (${problem.issues[0]?.message ?? "unreadable"}); showing defaults.`);
  } else if (problem) {
    throw blocked([`invalid config at ${target.configPath}.`, ...problem.error.message.split("\n").slice(1), "Fix it (openclaw doctor shows how), then run openclaw gateway install again."], "invalid-config");
  }
  // The file as written (not the validated copy: that one has ${VAR}s substituted).
  const fileConfig = snapshot.exists && !problem ? (snapshot.doc as OpenClawConfig) : undefined;
  const loaded: ConfigSnapshot | undefined = problem ? undefined : snapshot;
  const touched = loaded?.file.meta?.lastTouchedVersion;
  if (req.force) {
    const refusal = newerConfigRefusal(touched, "reinstall the gateway service (install --force)", host.env);
    if (refusal) throw new InstallBlocked(refusal, "newer-config");
  }
  if (loaded?.exists) {
    const mode = loaded.file.gateway?.mode;
    if (mode === "remote") throw blocked([`gateway.mode is "remote" in ${target.configPath}; a local gateway service would refuse to start. Set gateway.mode=local first.`], "remote-mode");
    if (mode === undefined) {
      if (scope === "system") throw blocked([`${target.configPath} has no gateway.mode; the service would refuse to start. Set gateway.mode to "local" in it first.`], "mode-missing");
      if (!req.dryRun) {
        // The file as written (fileConfig), not the validated copy: that one has ${VAR}s substituted.
        const raw = (fileConfig ?? {}) as OpenClawConfig;
        await writeConfig(target.configPath, { ...raw, gateway: { ...raw.gateway, mode: "local" } });
        notes.push(`No gateway.mode found. Set gateway.mode=local for managed gateway install (${target.configPath}).`);
      } else notes.push(`Would set gateway.mode=local in ${target.configPath} (no gateway.mode found).`);
    }
  }

  // The recorded port: --port > OPENCLAW_GATEWAY_PORT > gateway.port > the profile's default.
  const port = snapshot.gateway.port;
  // An explicit --port also goes into the config, so every client (status, call, health, the
  // official CLI) finds the gateway there. A system unit's config belongs to its service user.
  if (req.port !== undefined && scope === "user" && loaded?.file.gateway?.port !== req.port) {
    if (req.dryRun) notes.push(`Would set gateway.port=${req.port} in ${target.configPath}.`);
    else {
      const current = await readConfigFile(target.configPath).catch(() => undefined);
      const base = initialConfig();
      const fileNow = (current?.exists ? current.parsed : base) as OpenClawConfig;
      await writeConfig(target.configPath, { ...fileNow, gateway: { ...fileNow.gateway, ...(current?.exists ? {} : base.gateway), port: req.port } });
      notes.push(`${current?.exists ? "Set" : "Created the config with"} gateway.port=${req.port} in ${target.configPath}.`);
    }
  }

  const collected = collectSecrets(host.env, { token: req.token, fileConfig });
  // Secrets already in the installed env file are kept (a reinstall from another shell loses
  // nothing); --token and this shell's values replace them.
  const kept = await installedSecrets(manager, scope);
  const merged = new Map<string, string>(kept);
  for (const [k, v] of collected.secrets) merged.set(k, v);
  const secrets = [...merged.entries()].sort(([a], [b]) => a.localeCompare(b));
  const missing = collected.missing.filter((name) => !merged.has(name));
  for (const name of missing) warnings.push(`The config refers to \${${name}}, but ${name} is not set in this shell; the service will not have it.`);

  const launchd = kind === "launchd" ? launchdPaths(host, identity, target.stateDir) : undefined;
  const envFile =
    kind === "systemd"
      ? scope === "system"
        ? (manager as SystemdManager).systemEnvFile()
        : (manager as SystemdManager).userEnvFile(target.stateDir)
      : launchd
        ? launchd.envFile
        : schtasksPaths(host, identity, target.stateDir).envScript;
  const spec: InstallSpec = {
    identity,
    scope,
    programArguments: gatewayArguments(host.program, port),
    port,
    stateDir: target.stateDir,
    configPath: target.configPath,
    workingDirectory: target.stateDir,
    environment: serviceEnvironment(host, {
      identity,
      scope,
      kind,
      port,
      home: target.home,
      stateDir: target.stateDir,
      configPath: target.configPath,
      secretKeys: secrets.map(([k]) => k),
    }),
    secrets,
    envFile,
    serviceUser: req.serviceUser,
    logFiles: launchd ? { stdout: launchd.stdout, stderr: launchd.stderr } : undefined,
  };
  if (scope === "system" && host.program.some((p) => /^\/(home|root)\//.test(p))) {
    warnings.push(`${host.program.join(" ")} lives in a home directory; a system service may not be able to read it. Install the binary somewhere like /usr/local/bin/openclaw and run install from there.`);
  }
  if (scope === "system" && host.uid !== 0 && !req.dryRun) {
    throw blocked([`--system writes ${(manager as SystemdManager).systemWritePath()} and needs root.`, `Run: sudo ${host.program.length > 1 ? "bun " + host.program.slice(1).join(" ") : "openclaw"} gateway install --system${identity.profile ? ` --profile ${identity.profile}` : ""}${req.port ? ` --port ${req.port}` : ""}`, "Or see what it would write: openclaw gateway install --system --print"], "needs-root");
  }
  let plan: PlannedInstall;
  try {
    plan = manager.plan(spec);
  } catch (err) {
    if (err instanceof ServiceSpecError) throw blocked([err.message]);
    throw err;
  }
  return { manager, spec, plan, warnings, notes };
}

/** Secrets of the installed definition: its env file, plus a token/password embedded inline (moved out). */
async function installedSecrets(manager: ServiceManager, scope: Scope): Promise<Array<[string, string]>> {
  const def = await manager.definition().catch(() => undefined);
  if (!def || def.scope !== scope) return [];
  const out = new Map<string, string>();
  for (const key of SECRET_GATEWAY_KEYS) if (def.environment[key]) out.set(key, def.environment[key]);
  if (def.envFile) {
    const text = await readText(def.envFile);
    if (text !== undefined) {
      const values = manager.kind === "schtasks" ? readGatewayCmd(def.envFile, text).environment : parseEnvFile(text);
      for (const [k, v] of Object.entries(values)) if (ENV_NAME.test(k)) out.set(k, v);
    }
  }
  return [...out.entries()];
}

/** Refuse a user unit when a system unit owns the name, and the reverse. */
async function checkOwnership(host: ServiceHost, manager: ServiceManager, scope: Scope, unit: string): Promise<void> {
  if (manager instanceof SystemdManager) {
    if (scope === "user") {
      if (host.uid === 0 && host.env.SUDO_USER && host.env.SUDO_USER !== "root") {
        throw blocked([
          "Refusing a sudo-to-root systemd user-service install because OpenClaw state and service files would belong to root while systemctl targets the invoking user's manager. Rerun the same command without sudo.",
          "For an always-on system service run: sudo openclaw gateway install --system",
        ], "sudo-user-install");
      }
      const sys = await manager.findSystemUnit();
      if (sys) {
        if (repairPolicyExternal(host.env)) {
          throw new InstallBlocked(
            [
              `System systemd unit ${sys.path} owns this gateway (OPENCLAW_SERVICE_REPAIR_POLICY=external); skipped the user service install.`,
              "Gateway service is managed externally; start or repair the gateway through your supervisor.",
            ],
            "managed-externally",
            true,
          );
        }
        throw blocked([
          `System systemd unit ${sys.path} already owns this gateway unit name.`,
          "Refusing to create or activate a user systemd unit with the same name because duplicate managers can restart-loop the gateway.",
          `Remove it first: sudo systemctl disable --now ${unit} && sudo rm ${sys.path} && sudo systemctl daemon-reload`,
          "Or, if that system unit is meant to run the gateway, set OPENCLAW_SERVICE_REPAIR_POLICY=external.",
        ], "system-unit-exists");
      }
    } else {
      const homes = [host.home];
      if (host.env.SUDO_USER) {
        const h = await host.accountHome(host.env.SUDO_USER);
        if (h) homes.push(h);
      }
      for (const home of homes) {
        const userUnit = host.path.join(home === host.home ? host.dirs.systemdUser : host.path.join(home, ".config", "systemd", "user"), unit);
        if (await readText(userUnit)) {
          throw blocked([
            `User systemd unit ${userUnit} already runs this gateway.`,
            "Refusing to install a system unit with the same name because duplicate managers can restart-loop the gateway.",
            `Remove it first (as that user): openclaw gateway uninstall${home === host.home ? "" : `   (or: systemctl --user disable --now ${unit} && rm ${userUnit})`}`,
          ], "user-unit-exists");
        }
      }
    }
  }
  if (manager instanceof LaunchdManager) {
    const daemonPlist = manager.paths().daemonPlist;
    if ((await readText(daemonPlist)) !== undefined) {
      if (repairPolicyExternal(host.env)) {
        throw new InstallBlocked([`LaunchDaemon ${daemonPlist} owns this gateway (OPENCLAW_SERVICE_REPAIR_POLICY=external); skipped the LaunchAgent install.`], "managed-externally", true);
      }
      throw blocked([
        `LaunchDaemon ${daemonPlist} already owns the label ${manager.label}; a LaunchAgent with the same label would fight it.`,
        `Remove it first: sudo launchctl bootout system/${manager.label} && sudo rm ${daemonPlist}`,
      ], "system-daemon-exists");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

export type LifecycleAction = "uninstall" | "start" | "stop" | "restart";

const ACTION_TEXT: Record<LifecycleAction, string> = {
  uninstall: GuardedAction.serviceUninstall,
  start: GuardedAction.serviceStartup,
  stop: GuardedAction.serviceStop,
  restart: GuardedAction.serviceRestart,
};

export async function runLifecycle(host: ServiceHost, req: ManagerRequest, action: LifecycleAction, opts: { disable?: boolean } = {}): Promise<ActionOutcome> {
  const manager = managerFor(host, req);
  if (!manager) return outcome(action, "unsupported", false, [], [`No supported service manager on ${host.platform}.`]);
  if (supervisorExternal(host.env)) return outcome(action, "external-supervisor", false, [], externalSupervisorLines(action));
  // The guard needs only the definition's config path; each action inspects the service itself.
  const configPath = (await manager.definition())?.configPath;
  if (configPath) {
    const refusal = newerConfigRefusal(await readTouchedVersion(configPath), ACTION_TEXT[action], host.env);
    if (refusal) return outcome(action, "newer-config", false, [], refusal, await manager.inspect());
  }
  switch (action) {
    case "uninstall":
      return manager.uninstall();
    case "start":
      return manager.start();
    case "stop":
      return manager.stop({ disable: opts.disable });
    case "restart":
      return manager.restart();
  }
}
