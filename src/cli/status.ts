/**
 * `openclaw gateway status` (service, config, runtime, connectivity, capability of one gateway)
 * and `openclaw status` (the operator overview). Both work with a missing or invalid config and
 * never write anything.
 */
import { arch, platform, release } from "node:os";
import { dirname, join } from "node:path";
import { defineCommand } from "citty";
import { gatewayLogFile } from "../log/file.ts";
import type { GatewayClient, HelloOk } from "../protocol/client.ts";
import type { ResultOf } from "../protocol/contract.ts";
import { capabilityOf } from "../protocol/scopes.ts";
import { VERSION } from "../version.ts";
import { connectionArgs, timeoutArg } from "./call.ts";
import { describeFailure, exitWithFailure, printJson, shortReason } from "./output.ts";
import { connectTo, IDENTITY } from "./rpc.ts";
import { CliError } from "./command.ts";
import { resolveTarget, type GatewayTarget, type ResolvedTarget } from "./target.ts";
import { tildify } from "./util.ts";

export const SERVICE_LABEL = "no supported service manager detected";

/** What a user ran: the compiled binary, or `src/main.ts` when run from source. */
export function cliEntrypoint(): string {
  const script = process.argv[1];
  return script && !script.startsWith("/$bunfs/") && !/^[A-Z]:\\~BUN\\/.test(script) ? script : process.execPath;
}
const TROUBLESHOOTING = "https://docs.openclaw.ai/troubleshooting";

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

/** `systemd (enabled)`, `LaunchAgent (not loaded)`, ... or SERVICE_LABEL when there is no manager. */
export function serviceLabel(report: Pick<ServiceReport, "host" | "state">): string {
  const { state, host } = report;
  if (!state) return SERVICE_LABEL;
  if (state.manager === "systemd" && !host.systemdBooted && !state.installed) return SERVICE_LABEL;
  if (state.unavailable && !state.loaded) return `${state.label} (unavailable)`;
  return `${state.label} (${state.loaded ? state.loadedText : state.notLoadedText})`;
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

function serviceRuntimeLine(r: RuntimeInfo & { state?: string; subState?: string; lastExitStatus?: number; restarts?: number }): string {
  const parts: string[] = [];
  if (r.pid) parts.push(`pid ${r.pid}`);
  if (r.state) parts.push(`state ${r.state}`);
  if (r.subState) parts.push(`sub ${r.subState}`);
  if (r.lastExitStatus !== undefined && r.status !== "running") parts.push(`last exit ${r.lastExitStatus}`);
  if (r.restarts) parts.push(`${r.restarts} restarts`);
  return `Runtime: ${r.status}${parts.length ? ` (${parts.join(", ")})` : ""}`;
}

/** The conditional service lines of `gateway status` (absent when not applicable). */
export function serviceConditionLines(svc: ServiceReport, portBusy: boolean, port: number): string[] {
  const { state, issues } = svc;
  const lines: string[] = [];
  if (!state) return lines;
  if (state.unavailable && (state.installed || svc.host.systemdBooted)) {
    lines.push(state.manager === "systemd" && state.scope === "user" ? "systemd user services unavailable." : `Service manager unavailable: ${state.unavailable}`);
    if (state.manager === "systemd" && state.scope === "user") {
      lines.push("Hint: export XDG_RUNTIME_DIR=/run/user/$(id -u), or enable lingering: sudo loginctl enable-linger $USER");
    }
    return lines;
  }
  if (!state.installed) {
    if (state.manager !== "systemd" || svc.host.systemdBooted) lines.push("Service unit not found.", "Run: openclaw gateway install");
    return lines;
  }
  if (state.otherScope) lines.push(`Duplicate: a ${state.otherScope.scope} definition for the same gateway also exists (${state.otherScope.path}); duplicate managers can restart-loop the gateway.`);
  if (state.runtime.detail) lines.push(state.runtime.detail);
  if (state.runtime.status === "stopped" && state.loaded) {
    lines.push("Service is loaded but not running (likely exited immediately).");
    if (state.logsHint) lines.push(`Logs: ${state.logsHint}`);
  }
  if (state.runtime.status === "running" && !portBusy && state.definition?.port === port) lines.push(`Gateway port ${port} is not listening (service appears running).`);
  const drift = issues.filter((i) => i.code !== "gateway-config-mismatch" && i.level !== "info");
  if (drift.length) {
    lines.push("Service config looks out of date or non-standard.");
    for (const i of drift) lines.push(`Service config issue: ${i.message}`);
    lines.push(`Recommendation: run openclaw gateway install --force${state.scope === "system" ? " --system" : ""} (or openclaw doctor for the details).`);
  }
  return lines;
}

function configLine(label: string, path: string, exists: boolean, valid: boolean): string {
  return `${label}: ${tildify(path)}${exists ? "" : " (missing)"}${valid ? "" : " (invalid)"}`;
}

export const gatewayStatusCommand = defineCommand({
  meta: { name: "status", description: "Show the gateway's service, runtime, connectivity and capability" },
  args: {
    ...connectionArgs,
    "no-probe": { type: "boolean", description: "Skip the connectivity probe" },
    "require-rpc": { type: "boolean", description: "Prove a read-scope RPC works (exit 1 when it does not)" },
    deep: { type: "boolean", description: "Also scan for other gateway-like services and port owners" },
  },
  async run({ args }) {
    const json = Boolean(args.json);
    let resolved: ResolvedTarget | undefined;
    try {
      const timeoutMs = timeoutArg(args.timeout);
      const requireRpc = Boolean(args["require-rpc"]);
      const noProbe = args.probe === false || Boolean(args["no-probe"]);
      if (requireRpc && noProbe) throw new CliError(["--require-rpc cannot be combined with --no-probe."]);
      resolved = await resolveTarget(args, { needConfig: true });
      const { target } = resolved;
      const [lockRuntime, svc] = await Promise.all([localRuntime(target), serviceReport(target, Boolean(args.deep))]);
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
        noProbe ? Promise.resolve(undefined) : probeRpc(target, requireRpc, timeoutMs),
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
          controlUiLinks: { httpUrl: `http://${httpHost}:${target.port}/`, wsUrl: `ws://${httpHost}:${target.port}` },
          ...(loopbackOnly ? { probeNote: "Loopback-only gateway; only local clients can connect." } : {}),
          ...(rpc?.version ? { version: rpc.version } : {}),
        },
        port,
        ...(rpc ? { rpc } : {}),
        extraServices: extra,
      };
      if (json) printJson(report);
      else {
        const lines: string[] = [];
        lines.push(`Service: ${serviceLabel(svc)}`, `File logs: ${tildify(report.logFile)}`);
        const def = state?.definition;
        if (def) {
          const { shellQuote } = await import("../service/exec.ts");
          const { safeEnvironment } = await import("../service/environment.ts");
          lines.push(`Command: ${shellQuote(def.programArguments)}`, `Service file: ${tildify(def.path)}`);
          if (def.workingDirectory) lines.push(`Working dir: ${tildify(def.workingDirectory)}`);
          const env = Object.entries(safeEnvironment(def.environment)).filter(([k]) => k.startsWith("OPENCLAW_") && k !== "OPENCLAW_SERVICE_MANAGED_ENV_KEYS");
          if (env.length) lines.push(`Service env: ${env.map(([k, v]) => `${k}=${v}`).join(" ")}`);
        }
        lines.push("");
        lines.push(configLine("Config (cli)", configEntry.path, configEntry.exists, configValid));
        for (const issue of resolved.configError?.issues ?? []) lines.push(`  × ${issue.path}: ${issue.message}`);
        if (serviceConfig) lines.push(`${configLine("Config (service)", serviceConfig.path, serviceConfig.exists, serviceConfig.valid)}${serviceConfig.unreadable ? " (not readable by this user)" : ""}`);
        if (mismatch) lines.push("Root cause: CLI and service are using different config paths (likely a profile/state-dir mismatch).");
        lines.push("");
        lines.push(`Gateway: bind=${target.bindMode} (${target.bindHost}), port=${target.port} (${target.portSource})`);
        lines.push(`Probe target: ${target.url}`, `Dashboard: ${report.gateway.controlUiLinks.httpUrl}`);
        if (loopbackOnly) lines.push("Probe note: Loopback-only gateway; only local clients can connect.");
        lines.push("", `CLI version: ${VERSION} (${cliEntrypoint()})`);
        if (rpc?.version) lines.push(`Gateway version: ${rpc.version}`);
        lines.push("");
        lines.push(
          serviceRuntime
            ? serviceRuntimeLine(runtime)
            : runtime.status === "running"
              ? `Runtime: running (pid ${runtime.pid ?? "unknown"})`
              : runtime.status === "stopped"
                ? "Runtime: stopped"
                : "Runtime: unknown (not the local gateway)",
        );
        if (state) lines.push(...serviceConditionLines(svc, port.status === "busy", target.port));
        if (rpc) {
          const label = requireRpc ? "Read probe" : "Connectivity probe";
          lines.push(rpc.ok ? `${label}: ok` : `${label}: failed (${rpc.error ?? "unknown error"})`);
          lines.push(`Capability: ${rpc.capability.replaceAll("_", "-")}`);
        }
        lines.push("");
        if (port.listeners.length) lines.push(`Listening: ${port.listeners.map((l) => l.address ?? `pid ${l.pid}`).join(", ")}`);
        for (const hint of port.hints) lines.push(hint);
        if (args.deep) {
          const { renderExtraServices } = await import("../service/scan.ts");
          if (state?.installed) lines.push(`Service scope: ${state.scope}${state.definition ? ` (${state.definition.path})` : ""}`);
          lines.push(...renderExtraServices(extra));
          for (const l of port.listeners) lines.push(`Port owner: pid ${l.pid} ${l.commandLine ?? l.command}`);
        }
        lines.push("Troubles: run openclaw status", `Troubleshooting: ${TROUBLESHOOTING}`);
        console.log(lines.join("\n"));
      }
      if (requireRpc && !rpc?.ok) process.exit(1);
    } catch (err) {
      const failure = await describeFailure(err, resolved?.target);
      if (json) printJson(failure.json);
      else for (const line of [`Gateway status failed: ${failure.human[0]}`, ...failure.human.slice(1)]) console.error(line);
      process.exit(1);
    }
  },
});

// ---------------------------------------------------------------------------------------------
// openclaw status

/** Two-column box table like upstream's overview. */
export function renderTable(rows: Array<[string, string]>): string {
  const w0 = Math.max(4, ...rows.map(([k]) => k.length));
  const w1 = Math.max(5, ...rows.map(([, v]) => v.length));
  const line = (l: string, m: string, r: string) => `${l}${"─".repeat(w0 + 2)}${m}${"─".repeat(w1 + 2)}${r}`;
  const row = (a: string, b: string) => `│ ${a.padEnd(w0)} │ ${b.padEnd(w1)} │`;
  return [line("┌", "┬", "┐"), row("Item", "Value"), line("├", "┼", "┤"), ...rows.map(([a, b]) => row(a, b)), line("└", "┴", "┘")].join("\n");
}

/** `systemd installed · enabled · running (pid 1234)` / `systemd not installed` / no manager. */
export function gatewayServiceRow(svc: Pick<ServiceReport, "host" | "state">, runtime: RuntimeInfo): string {
  const running = runtime.status === "running" ? `running (pid ${runtime.pid ?? "unknown"})` : runtime.status;
  const state = svc.state;
  if (!state || (state.manager === "systemd" && !svc.host.systemdBooted && !state.installed)) return `${SERVICE_LABEL} · ${running}`;
  if (!state.installed) return `${state.label} not installed · gateway ${running}`;
  const scope = state.scope === "system" ? " (system)" : "";
  return `${state.label}${scope} installed · ${state.unavailable ? "unavailable" : state.loaded ? state.loadedText : state.notLoadedText} · ${running}`;
}


async function httpProbe(base: string, path: string, timeoutMs: number): Promise<{ path: string; status: number | null; ok: boolean }> {
  try {
    const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return { path, status: res.status, ok: res.ok };
  } catch {
    return { path, status: null, ok: false };
  }
}

export const statusCommand = defineCommand({
  meta: { name: "status", description: "Overview: gateway, service, agents, sessions" },
  args: {
    json: { type: "boolean", description: "Print JSON" },
    deep: { type: "boolean", description: "Also run live probes (health, /startupz, /healthz, /readyz)" },
    all: { type: "boolean", description: "Full pasteable report" },
    timeout: { type: "string", description: "Timeout in ms (default 10000)" },
    verbose: { type: "boolean", description: "More detail" },
  },
  async run({ args }) {
    const json = Boolean(args.json);
    let resolved: ResolvedTarget | undefined;
    try {
      const timeoutMs = timeoutArg(args.timeout);
      resolved = await resolveTarget({}, { needConfig: true });
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
          args.deep ? client.call("health", { probe: true }).catch(() => undefined) : Promise.resolve(undefined),
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
      const probes = args.deep && reachable ? await Promise.all(["/startupz", "/healthz", "/readyz"].map((p) => httpProbe(httpBase, p, timeoutMs))) : undefined;
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
      if (json) {
        printJson(report);
        return;
      }
      const hb = status?.heartbeat?.agents ?? agents.map((a) => ({ agentId: a.id, enabled: false, every: "disabled" }));
      const rows: Array<[string, string]> = [];
      if (args.all) rows.push(["Version", VERSION], ["Config", target.paths.configPath]);
      rows.push(["OS", `${osLabel} · bun ${Bun.version}`]);
      rows.push(["Dashboard", `${httpBase}/`]);
      rows.push([
        "Gateway",
        reachable
          ? `${mode} · ${target.url} (${target.urlSource}) · reachable ${latency}ms · auth ${authMethod ?? "unknown"}`
          : `${mode} · ${target.url} (${target.urlSource}) · unreachable (${error})`,
      ]);
      rows.push(["Gateway service", gatewayServiceRow(svc, runtime)]);
      rows.push(["Agents", `${agents.length} · default ${defaultId} · sessions ${totalSessions}`]);
      rows.push(["Heartbeat", hb.map((a) => `${a.enabled ? a.every : "disabled"} (${a.agentId})`).join(", ")]);
      rows.push(["Sessions", `${totalSessions} stored`]);
      rows.push(["Channels", channels?.channelOrder?.length ? channels.channelOrder.join(", ") : "none configured"]);
      rows.push([
        "Probes",
        probes ? probes.map((p) => `${p.path.slice(1)} ${p.ok ? "ok" : `failed (${p.status ?? "no answer"})`}`).join(" · ") : "skipped (use --deep)",
      ]);
      if (args.all) {
        rows.push(["Log file", logFileOf(resolved)]);
        rows.push(["Uptime", status?.uptimeMs !== undefined ? `${Math.round(status.uptimeMs / 1000)}s (pid ${status.pid})` : "unknown"]);
      }
      const out = [args.all ? "OpenClaw status --all" : "OpenClaw status", "", "Overview", renderTable(rows), ""];
      if (resolved.configError) out.push(...resolved.configError.message.split("\n"), "");
      out.push(`Troubleshooting: ${TROUBLESHOOTING}`, "Next steps:", "  Need to debug live? openclaw logs --follow", "  Need live probes?   openclaw status --deep");
      console.log(out.join("\n"));
    } catch (err) {
      await exitWithFailure(err, { json, target: resolved?.target, what: "Status" });
    }
  },
});
