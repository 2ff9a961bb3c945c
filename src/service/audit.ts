/**
 * Service definition audit, shared by `gateway status` and `doctor`: does the installed
 * definition still run this binary, on the port and profile the CLI resolves, with the policy
 * lines we rely on, and without secrets inline?
 */
import { stat } from "node:fs/promises";
import { exists } from "./files.ts";
import { parsePlist } from "./launchd.ts";
import { parseUnitFile } from "./systemd.ts";
import type { ServiceState } from "./types.ts";

export interface AuditIssue {
  code: string;
  message: string;
  detail?: string;
  level: "error" | "warn" | "info";
}

export interface AuditExpectation {
  /** How this CLI would run the gateway (`host.program`). */
  program: string[];
  /** The port this CLI resolves for the gateway (only compared when the config paths agree). */
  port?: number;
  profile?: string;
  configPath?: string;
  stateDir?: string;
}

export async function auditService(state: ServiceState, expect: AuditExpectation): Promise<AuditIssue[]> {
  const def = state.definition;
  if (!def) return [];
  const issues: AuditIssue[] = [];
  const args = def.programArguments;
  const gw = args.indexOf("gateway");
  if (gw < 0) {
    issues.push({ code: "gateway-command-missing", level: "error", message: "Service command does not include the gateway subcommand", detail: args.join(" ") });
  }
  const program = gw > 0 ? args.slice(0, gw) : args.slice(0, 1);
  const missing: string[] = [];
  for (const p of program) if (p.startsWith("/") || /^[A-Za-z]:\\/.test(p)) if (!(await exists(p))) missing.push(p);
  if (missing.length) {
    issues.push({ code: "gateway-path-missing", level: "error", message: `Service runs ${missing.join(" ")}, which no longer exists (moved or removed by an update?).`, detail: args.join(" ") });
  } else if (program.join("\0") !== expect.program.join("\0")) {
    issues.push({ code: "gateway-entrypoint-mismatch", level: "warn", message: `Service runs ${program.join(" ")}, but this openclaw is ${expect.program.join(" ")}.`, detail: args.join(" ") });
  }
  const sameConfig = !expect.configPath || !def.configPath || def.configPath === expect.configPath;
  if (expect.configPath && def.configPath && def.configPath !== expect.configPath) {
    issues.push({ code: "gateway-config-mismatch", level: "warn", message: `Service uses config ${def.configPath}; this CLI uses ${expect.configPath}.` });
  }
  if (sameConfig && expect.port !== undefined && def.port !== undefined && def.port !== expect.port) {
    issues.push({ code: "gateway-port-mismatch", level: "warn", message: `Gateway service port does not match current gateway config (service ${def.port}, config ${expect.port}).` });
  }
  if (def.port === undefined && gw >= 0) issues.push({ code: "gateway-port-missing", level: "warn", message: "Service command records no --port; the gateway falls back to whatever the config says at start." });
  if ((def.profile ?? "") !== (expect.profile ?? "") && def.profile !== undefined) {
    issues.push({ code: "gateway-profile-mismatch", level: "warn", message: `Service was installed for profile ${def.profile ?? "(default)"}, but this CLI uses ${expect.profile ?? "the default profile"}.` });
  }
  if (def.environment.OPENCLAW_GATEWAY_TOKEN) issues.push({ code: "gateway-token-embedded", level: "warn", message: "Gateway service embeds OPENCLAW_GATEWAY_TOKEN and should be reinstalled." });
  if (def.environment.OPENCLAW_GATEWAY_PASSWORD) issues.push({ code: "gateway-password-embedded", level: "warn", message: "Gateway service embeds OPENCLAW_GATEWAY_PASSWORD and should be reinstalled." });
  const envFileInfo = def.envFile ? await stat(def.envFile).catch(() => undefined) : undefined;
  if (envFileInfo) {
    const mode = envFileInfo.mode & 0o777;
    if (mode & 0o077) issues.push({ code: "gateway-env-file-permissions", level: "error", message: `Service environment file ${def.envFile} is mode 0${mode.toString(8)}; secrets must be owner-only (0600).` });
  }
  if (state.manager === "systemd") {
    const unit = parseUnitFile(def.text);
    if (/^(yes|true|1|on)$/i.test(unit.get("Service", "MemoryDenyWriteExecute") ?? "")) {
      issues.push({ code: "systemd-memory-deny-write-execute", level: "error", message: "MemoryDenyWriteExecute=yes silently disables Bun's JIT (the gateway runs several times slower); remove it." });
    }
    if (!/(^|\s)78(\s|$)/.test(unit.all("Service", "RestartPreventExitStatus").join(" "))) {
      issues.push({ code: "systemd-restart-prevent-78", level: "warn", message: "Missing RestartPreventExitStatus=78: systemd would restart-loop a gateway that refuses its config." });
    }
    const killMode = unit.get("Service", "KillMode");
    if (killMode && killMode !== "mixed") {
      issues.push({ code: killMode === "control-group" ? "systemd-kill-mode-control-group" : "systemd-kill-mode-process-or-none", level: "warn", message: `KillMode=${killMode}; KillMode=mixed is required so the gateway drains before its children are killed.` });
    }
    if (!unit.all("Unit", "After").join(" ").includes("network-online.target")) issues.push({ code: "systemd-after-network-online", level: "info", message: "Missing systemd After=network-online.target" });
    if (!unit.all("Unit", "Wants").join(" ").includes("network-online.target")) issues.push({ code: "systemd-wants-network-online", level: "info", message: "Missing systemd Wants=network-online.target" });
  }
  if (state.manager === "launchd") {
    try {
      const dict = parsePlist(def.text) as Record<string, unknown>;
      if (dict.KeepAlive === false || dict.KeepAlive === undefined) issues.push({ code: "launchd-keep-alive", level: "warn", message: "LaunchAgent has no KeepAlive; launchd will not restart a crashed gateway." });
      if (dict.RunAtLoad !== true) issues.push({ code: "launchd-run-at-load", level: "warn", message: "LaunchAgent lacks RunAtLoad; the gateway will not start at login." });
    } catch {}
  }
  return issues;
}

/** Issues that `install --force` (a definition rewrite) resolves. */
export const REWRITE_FIXES = new Set([
  "gateway-command-missing",
  "gateway-path-missing",
  "gateway-entrypoint-mismatch",
  "gateway-port-mismatch",
  "gateway-port-missing",
  "gateway-profile-mismatch",
  "gateway-token-embedded",
  "gateway-password-embedded",
  "systemd-memory-deny-write-execute",
  "systemd-restart-prevent-78",
  "systemd-kill-mode-control-group",
  "systemd-kill-mode-process-or-none",
  "systemd-after-network-online",
  "systemd-wants-network-online",
  "launchd-keep-alive",
  "launchd-run-at-load",
]);
