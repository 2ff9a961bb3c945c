/**
 * `openclaw gateway status` and `openclaw status`: flags → one library call
 * (src/operator/status.ts) → render (human lines or `--json`). Both work with a missing or
 * damaged config and never write anything.
 */
import { defineCommand } from "citty";
import { cliEntrypoint, gatewayStatus, logFileOf, SERVICE_LABEL, statusOverview, type RuntimeInfo, type ServiceReport } from "../operator/status.ts";
import { VERSION } from "../version.ts";
import { connectionArgs, timeoutArg } from "./call.ts";
import { CliError, portFlag, writeStderr } from "./command.ts";
import { globals } from "./globals.ts";
import { describeFailure, exitWithFailure, printJson } from "./output.ts";
import { tildify } from "./util.ts";

export { cliEntrypoint, SERVICE_LABEL, serviceConfigPath, serviceReport, type RuntimeInfo, type ServiceReport } from "../operator/status.ts";

const TROUBLESHOOTING = "https://docs.openclaw.ai/troubleshooting";

/** `systemd (enabled)`, `LaunchAgent (not loaded)`, ... or SERVICE_LABEL when there is no manager. */
export function serviceLabel(report: Pick<ServiceReport, "host" | "state">): string {
  const { state, host } = report;
  if (!state) return SERVICE_LABEL;
  if (state.manager === "systemd" && !host.systemdBooted && !state.installed) return SERVICE_LABEL;
  if (state.unavailable && !state.loaded) return `${state.label} (unavailable)`;
  return `${state.label} (${state.loaded ? state.loadedText : state.notLoadedText})`;
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
    let target: import("../operator/target.ts").GatewayTarget | undefined;
    try {
      const requireRpc = Boolean(args["require-rpc"]);
      const noProbe = args.probe === false || Boolean(args["no-probe"]);
      if (requireRpc && noProbe) throw new CliError(["--require-rpc cannot be combined with --no-probe."]);
      const status = await gatewayStatus({
        flags: { url: args.url, token: args.token, password: args.password, port: portFlag(args.port) },
        profile: globals().profile,
        timeoutMs: timeoutArg(args.timeout),
        requireRpc,
        probe: !noProbe,
        deep: Boolean(args.deep),
      });
      target = status.resolved.target;
      const { report, resolved, svc, port, rpc, runtime, serviceRuntime, serviceConfig, mismatch, configEntry, loopbackOnly } = status;
      const { state, extra } = svc;
      const configValid = configEntry.valid;
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
        if (target.tls) {
          lines.push(
            target.tlsFingerprint
              ? `TLS: on (sha256 ${target.tlsFingerprint}) ${tildify(target.tlsCertPath ?? "")}`.trimEnd()
              : `Local gateway TLS is enabled but OpenClaw could not load the local certificate fingerprint: ${target.tlsError ?? "unknown error"}`,
          );
        }
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
      const failure = await describeFailure(err, target);
      if (json) printJson(failure.json);
      else writeStderr([`Gateway status failed: ${failure.human[0]}`, ...failure.human.slice(1)]);
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
    let target: import("../operator/target.ts").GatewayTarget | undefined;
    try {
      const overview = await statusOverview({ profile: globals().profile, timeoutMs: timeoutArg(args.timeout), deep: Boolean(args.deep) });
      target = overview.resolved.target;
      const { report, resolved, status, channels, agents, defaultId, totalSessions, mode, osLabel, reachable, latency, error, authMethod, svc, runtime, probes, httpBase } = overview;
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
      await exitWithFailure(err, { json, target, what: "Status" });
    }
  },
});
