/**
 * What the operator status commands report, gathered as library calls: `gatewayStatus()` for
 * `openclaw gateway status` (service, config, runtime, port, connectivity and capability of one
 * gateway) and `statusOverview()` for `openclaw status`. Both work with a missing or damaged
 * config (the snapshot still honours --port, OPENCLAW_GATEWAY_PORT and --url) and write
 * nothing. Rendering is the CLI's (src/cli/status.ts).
 */
import { arch, platform, release } from "node:os";
import { dirname, join } from "node:path";
import { gatewayLogFile } from "../log/file.ts";
import type { GatewayClient, HelloOk } from "../protocol/client.ts";
import type { ResultOf } from "../protocol/contract.ts";
import { capabilityOf } from "../protocol/scopes.ts";
import { VERSION } from "../version.ts";
import { connectTo, IDENTITY } from "./connect.ts";
import { describeFailure, shortReason } from "./failure.ts";
import { resolveTarget, type Env, type GatewayTarget, type ResolvedTarget, type TargetFlags } from "./target.ts";

export const SERVICE_LABEL = "no supported service manager detected";

/** What a user ran: the compiled binary, or `src/main.ts` when run from source. */
export function cliEntrypoint(): string {
  const script = process.argv[1];
  return script && !script.startsWith("/$bunfs/") && !/^[A-Z]:\\~BUN\\/.test(script) ? script : process.execPath;
}
export function logFileOf(resolved: ResolvedTarget): string {
  return gatewayLogFile(resolved.target.paths.stateDir, resolved.loaded?.config);
}

export interface RuntimeInfo {
  status: "running" | "stopped" | "unknown";
  pid?: number;
  port?: number;
  detail?: string;
}

/** The local gateway's runtime, from its instance lock (read-only). */
export async function localRuntime(target: GatewayTarget): Promise<RuntimeInfo> {
  if (!target.local) return { status: "unknown", detail: "not the local gateway" };
  const { inspectLock } = await import("../system/lock.ts");
  const lock = await inspectLock(target.paths.stateDir);
  if (!lock.held) return { status: "stopped" };
  return { status: "running", pid: lock.info?.pid, port: lock.info?.port };
}

export interface RpcReport {
  ok: boolean;
  kind: "connect" | "read";
  capability: string;
  auth?: { role: string; scopes: string[]; capability: string };
  server?: HelloOk["server"];
  version?: string;
  url: string;
  error?: string;
  timedOut?: boolean;
  gatewayReached?: boolean;
  latencyMs?: number;
}

async function probeRpc(target: GatewayTarget, requireRpc: boolean, timeoutMs: number): Promise<RpcReport> {
  const started = performance.now();
  let client: GatewayClient | undefined;
  try {
    client = requireRpc
      ? await connectTo(target, { identity: IDENTITY.backend("gateway:status"), timeoutMs })
      : await connectTo(target, { identity: IDENTITY.probe, minProtocol: 3, timeoutMs });
    const hello = client.hello;
    const auth = { role: hello.auth.role, scopes: hello.auth.scopes, capability: capabilityOf(hello.auth.scopes) };
    const report: RpcReport = {
      ok: true,
      kind: requireRpc ? "read" : "connect",
      capability: auth.capability,
      auth,
      server: hello.server,
      version: hello.server.version,
      url: target.url,
      latencyMs: Math.round(performance.now() - started),
    };
    if (requireRpc) {
      try {
        await client.call("status", undefined, { timeoutMs });
      } catch (err) {
        report.ok = false;
        report.error = (err as Error).message;
        report.gatewayReached = true;
      }
    }
    return report;
  } catch (err) {
    const failure = await describeFailure(err, target);
    const e = failure.json.error as { type: string; kind?: string; reason?: string; message: string; details?: { code?: string } };
    const pairing = e.details?.code === "PAIRING_REQUIRED";
    return {
      ok: false,
      kind: requireRpc ? "read" : "connect",
      capability: pairing ? "pairing_pending" : "unknown",
      url: target.url,
      error: e.reason ?? e.message,
      timedOut: e.kind === "timeout",
      gatewayReached: e.type === "gateway_request_error",
    };
  } finally {
    void client?.close();
  }
}

async function portReport(target: GatewayTarget, running: RuntimeInfo) {
  if (!target.local) return { port: target.port, status: "unknown" as const, listeners: [], hints: [] as string[] };
  const { listenersOnPort } = await import("../system/ports.ts");
  const listeners = await listenersOnPort(target.port);
  const hints: string[] = [];
  if (listeners.length && running.pid && !listeners.some((l) => l.pid === running.pid)) {
    hints.push(`Port ${target.port} is held by pid ${listeners.map((l) => l.pid).join(", ")}, not by this state dir's gateway (pid ${running.pid}).`);
  }
  return {
    port: target.port,
    status: listeners.length ? ("busy" as const) : ("free" as const),
    listeners: listeners.map((l) => ({ pid: l.pid, command: l.name, address: l.address, commandLine: l.command })),
    hints,
  };
}

export interface ServiceReport {
  host: import("../service/host.ts").ServiceHost;
  state: import("../service/types.ts").ServiceState | undefined;
  issues: import("../service/audit.ts").AuditIssue[];
  extra: import("../service/scan.ts").ExtraService[];
}

/** The installed service for this profile, its audit against what this CLI resolves, and (--deep) other services. */
export async function serviceReport(target: GatewayTarget, deep: boolean): Promise<ServiceReport> {
  const [{ defaultServiceHost }, { inspectService }, { auditService }, { scanGatewayServices }] = await Promise.all([
    import("../service/host.ts"),
    import("../service/index.ts"),
    import("../service/audit.ts"),
    import("../service/scan.ts"),
  ]);
  const host = defaultServiceHost();
  const state = await inspectService(host, { profile: target.paths.profile, stateDir: target.paths.stateDir }).catch(() => undefined);
  const issues = state
    ? await auditService(state, {
        program: host.program,
        port: target.local ? target.port : undefined,
        profile: target.paths.profile,
        configPath: target.paths.configPath,
      })
    : [];
  const extra = deep ? await scanGatewayServices(host, { name: state?.name ?? "", scope: state?.scope ?? "user", path: state?.definition?.path }, { deep: true }) : [];
  return { host, state, issues, extra };
}

/** The config file a service uses: its recorded path, or its state dir's / home's openclaw.json. */
export function serviceConfigPath(state: import("../service/types.ts").ServiceState | undefined, home: string): string | undefined {
  const def = state?.definition;
  if (!def) return undefined;
  if (def.configPath) return def.configPath;
  if (def.stateDir) return join(def.stateDir, "openclaw.json");
  return join(def.environment.HOME ?? home, ".openclaw", "openclaw.json");
}

/** Another config file (the service's), judged by the same snapshot as the CLI's own. */
async function configFileStatus(paths: GatewayTarget["paths"], path: string): Promise<{ exists: boolean; valid: boolean; unreadable?: boolean }> {
  const { loadSnapshot } = await import("../config/snapshot.ts");
  const snapshot = await loadSnapshot({ paths: { ...paths, configPath: path, stateDir: dirname(path) } });
  if (snapshot.problem?.kind === "read") return { exists: true, valid: true, unreadable: true };
  return { exists: snapshot.exists, valid: !snapshot.problem };
}

export interface GatewayStatusOptions {
  flags: TargetFlags;
  profile?: string;
  env?: Env;
  timeoutMs: number;
  /** Prove a read-scope RPC works (the probe connects as a backend and calls `status`). */
  requireRpc: boolean;
  /** Run the connectivity probe. */
  probe: boolean;
  /** Also scan for other gateway-like services. */
  deep: boolean;
}

/** `openclaw gateway status`: everything it reports, gathered (read-only: nothing is written). */
export async function gatewayStatus(opts: GatewayStatusOptions) {
  const { timeoutMs, requireRpc } = opts;
  const resolved = await resolveTarget(opts.flags, { needConfig: true, profile: opts.profile, env: opts.env });
  const { target } = resolved;
  const [lockRuntime, svc] = await Promise.all([localRuntime(target), serviceReport(target, opts.deep)]);
  const { state, issues, extra } = svc;
  const servicePath = serviceConfigPath(state, svc.host.home);
  // With no port of its own (flag, env, config), the CLI probes the port the service records.
  const recorded = state?.definition?.port;
  if (target.local && target.portSource === "default" && recorded && recorded !== target.port && servicePath === target.paths.configPath) {
    target.port = recorded;
    target.url = target.url.replace(/:\d+$/, `:${recorded}`);
    target.portSource = "service args";
  }
  const [port, rpc] = await Promise.all([
    portReport(target, lockRuntime),
    opts.probe ? probeRpc(target, requireRpc, timeoutMs) : Promise.resolve(undefined),
  ]);
  const serviceRuntime = state?.installed && state.runtime.state !== undefined ? state.runtime : undefined;
  const runtime: RuntimeInfo & { state?: string; subState?: string; lastExitStatus?: number; restarts?: number } = serviceRuntime ? { ...serviceRuntime, ...(lockRuntime.port ? { port: lockRuntime.port } : {}) } : lockRuntime;
  const serviceConfig = servicePath ? { path: servicePath, ...(await configFileStatus(target.paths, servicePath)) } : undefined;
  const mismatch = Boolean(servicePath && servicePath !== target.paths.configPath);
  const configValid = !resolved.configError;
  const configEntry = {
    path: target.paths.configPath,
    exists: resolved.configExists,
    valid: configValid,
    ...(resolved.configError ? { issues: resolved.configError.issues } : {}),
  };
  const httpHost = target.local ? (target.bindHost === "0.0.0.0" ? "127.0.0.1" : target.bindHost) : new URL(target.url).hostname;
  const loopbackOnly = target.bindMode === "loopback";
  // The dashboard's links honour `gateway.controlUi.basePath` ("/openclaw" → http://host:port/openclaw/).
  const uiBase = (resolved.snapshot?.config.gateway?.controlUi?.basePath ?? "").trim().replace(/^\/*/, "/").replace(/\/+$/, "");
  const report = {
    cli: { version: VERSION, entrypoint: cliEntrypoint() },
    logFile: logFileOf(resolved),
    service: {
      label: state ? state.label : SERVICE_LABEL,
      loaded: state?.loaded ?? false,
      loadState: { status: state?.loaded ? "loaded" : "not-loaded" },
      loadedText: state?.loadedText ?? "enabled",
      notLoadedText: state?.notLoadedText ?? "disabled",
      ...(state ? { manager: state.manager, name: state.name, scope: state.scope, installed: state.installed } : {}),
      ...(state?.unavailable ? { unavailable: state.unavailable } : {}),
      ...(state?.definition
        ? {
            command: {
              programArguments: state.definition.programArguments,
              ...(state.definition.workingDirectory ? { workingDirectory: state.definition.workingDirectory } : {}),
              environment: (await import("../service/environment.ts")).safeEnvironment(state.definition.environment),
              sourcePath: state.definition.path,
            },
          }
        : {}),
      runtime,
      configAudit: { issues },
    },
    config: { cli: configEntry, ...(serviceConfig ? { daemon: serviceConfig } : {}), ...(mismatch ? { mismatch: true } : {}) },
    gateway: {
      bindMode: target.bindMode,
      bindHost: target.bindHost,
      port: target.port,
      portSource: target.portSource,
      probeUrl: target.url,
      controlUiLinks: { httpUrl: `http://${httpHost}:${target.port}${uiBase}/`, wsUrl: `ws://${httpHost}:${target.port}${uiBase}` },
      ...(loopbackOnly ? { probeNote: "Loopback-only gateway; only local clients can connect." } : {}),
      ...(rpc?.version ? { version: rpc.version } : {}),
    },
    port,
    ...(rpc ? { rpc } : {}),
    extraServices: extra,
  };
  return { report, resolved, svc, port, rpc, runtime, serviceRuntime, serviceConfig, mismatch, configEntry, loopbackOnly };
}

export type GatewayStatus = Awaited<ReturnType<typeof gatewayStatus>>;

async function httpProbe(base: string, path: string, timeoutMs: number): Promise<{ path: string; status: number | null; ok: boolean }> {
  try {
    const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return { path, status: res.status, ok: res.ok };
  } catch {
    return { path, status: null, ok: false };
  }
}

export interface OverviewOptions {
  profile?: string;
  env?: Env;
  timeoutMs: number;
  /** Also run the live probes (health with a fresh probe, /startupz, /healthz, /readyz). */
  deep: boolean;
}

/** `openclaw status`: the overview, gathered (read-only). */
export async function statusOverview(opts: OverviewOptions) {
  const { timeoutMs } = opts;
  const resolved = await resolveTarget({}, { needConfig: true, profile: opts.profile, env: opts.env });
  const { target } = resolved;
  const started = performance.now();
  let status: ResultOf<"status"> | undefined;
  let presence: ResultOf<"system-presence"> | undefined;
  let channels: ResultOf<"channels.status"> | undefined;
  let health: ResultOf<"health"> | undefined;
  let error: string | null = null;
  let latency: number | null = null;
  let authMethod: string | undefined;
  let client: GatewayClient | undefined;
  try {
    client = await connectTo(target, { identity: IDENTITY.backend("gateway:status"), timeoutMs });
    latency = Math.round(performance.now() - started);
    authMethod = client.hello.auth.method;
    const [s, p, c, h] = await Promise.all([
      client.call("status", { includeChannelSummary: false, includeCliProjection: true }),
      client.call("system-presence").catch(() => undefined),
      client.call("channels.status", { probe: false, timeoutMs: Math.min(timeoutMs, 8000) }).catch(() => undefined),
      opts.deep ? client.call("health", { probe: true }).catch(() => undefined) : Promise.resolve(undefined),
    ]);
    status = s;
    presence = p;
    channels = c;
    health = h;
  } catch (err) {
    error = await shortReason(err, target);
  } finally {
    void client?.close();
  }
  const reachable = status !== undefined;
  const [lockRuntime, svc] = await Promise.all([localRuntime(target), serviceReport(target, false)]);
  const svcState = svc.state;
  const runtime = svcState?.installed && svcState.runtime.state !== undefined ? svcState.runtime : lockRuntime;
  const httpBase = target.url.replace(/^ws/, "http").replace(/\/$/, "");
  const probes = opts.deep && reachable ? await Promise.all(["/startupz", "/healthz", "/readyz"].map((p) => httpProbe(httpBase, p, timeoutMs))) : undefined;
  const loadedCfg = resolved.loaded?.config;
  const { listAgents } = await import("../agents/registry.ts");
  const agents = listAgents(loadedCfg ?? {});
  const defaultId = agents.find((a) => a.isDefault)?.id ?? "main";
  const byAgent = new Map((status?.sessions?.byAgent ?? []).map((a) => [a.agentId, a.count]));
  const totalSessions = status?.sessions?.count ?? [...byAgent.values()].reduce((a, b) => a + b, 0);
  const self = presence?.find((e) => e.reason === "self") ?? null;
  const mode = loadedCfg?.gateway?.mode === "remote" ? "remote" : "local";
  const { cliProjection: _projection, ...summary } = status ?? {};
  const osLabel = `${platform()} ${release()} (${arch()})`;
  const report = {
    ...summary,
    os: { platform: platform(), arch: arch(), release: release(), label: osLabel },
    gateway: {
      mode,
      url: target.url,
      urlSource: target.urlSource,
      misconfigured: Boolean(resolved.configError),
      reachable,
      connectLatencyMs: latency,
      self,
      error,
      authWarning: null,
    },
    gatewayService: {
      label: svcState ? svcState.label : SERVICE_LABEL,
      installed: svcState?.installed ?? false,
      loadState: { status: svcState?.loaded ? "loaded" : "not-loaded" },
      ...(svcState ? { name: svcState.name, scope: svcState.scope, loadedText: svcState.loadedText, notLoadedText: svcState.notLoadedText } : {}),
      runtime,
    },
    agents: {
      defaultId,
      agents: agents.map((a) => ({ id: a.id, sessionsCount: byAgent.get(a.id) ?? 0 })),
      totalSessions,
    },
    ...(probes || health ? { probes: { http: probes ?? [], health: health ?? null } } : {}),
    config: { path: target.paths.configPath, exists: resolved.configExists, valid: !resolved.configError },
  };
  return { report, resolved, status, channels, agents, defaultId, totalSessions, mode, osLabel, reachable, latency, error, authMethod, svc, runtime, probes, httpBase };
}

export type StatusOverview = Awaited<ReturnType<typeof statusOverview>>;
