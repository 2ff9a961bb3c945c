/**
 * `openclaw gateway probe`: connect to every known target (explicit `--url`, an SSH tunnel,
 * the configured remote, the local loopback gateway) as upstream's probe client does and run the
 * read diagnostics (`health`, `status`, `system-presence`, `config.get`) in parallel.
 * Exit 1 only when nothing is reachable.
 */
import type { Subprocess } from "bun";
import { defineCommand } from "citty";
import { GatewayRequestError, type GatewayClient } from "../protocol/client.ts";
import { capabilityLabel, capabilityOf } from "../protocol/scopes.ts";
import { targetOf, timeoutArg } from "./call.ts";
import { describeFailure, exitWithFailure, printJson } from "./output.ts";
import { connectTo, IDENTITY } from "../operator/connect.ts";
import { configuredRemoteTarget, localTls, type GatewayTarget } from "../operator/target.ts";

type TargetKind = "explicit" | "sshTunnel" | "configRemote" | "localLoopback";
const PRIORITY: TargetKind[] = ["explicit", "sshTunnel", "configRemote", "localLoopback"];

const SCOPE_LIMITED_MESSAGE =
  "Read-probe diagnostics are limited by gateway scopes (missing operator.read). Connection succeeded, but read-only status calls are incomplete. Hint: pair device identity or use credentials with operator.read.";
/** The original's wording; the failure follows the colon. */
const DETAIL_FAILED_MESSAGE = "Gateway accepted the WebSocket connection, but follow-up read diagnostics failed";
const NONE_REACHABLE_MESSAGE =
  "No gateway answered any probe. Run `openclaw gateway status --deep --require-rpc` to inspect service state, config paths, listener owners, and logs; include `ss -ltnp` or `lsof -nP -iTCP:<port> -sTCP:LISTEN` for the configured port when filing a report.";
const SSH_FAILED_MESSAGE = "SSH tunnel failed to start; falling back to direct probes.";

interface ProbeTarget {
  id: TargetKind;
  kind: TargetKind;
  target: GatewayTarget;
  active: boolean;
  tunnel: { ssh: string; localPort: number; remotePort: number } | null;
}

export interface TargetResult {
  id: TargetKind;
  kind: TargetKind;
  url: string;
  active: boolean;
  tunnel: ProbeTarget["tunnel"];
  connect: { ok: boolean; rpcOk: boolean; scopeLimited: boolean; latencyMs: number | null; error: string | null; close: { code: number; reason: string } | null };
  auth: { role: string | null; scopes: string[]; capability: string };
  server: { version: string | null; buildId?: string; bootId?: string; connId: string | null };
  self: Record<string, unknown> | null;
  config: Record<string, unknown> | null;
  health: unknown;
  summary: unknown;
  presence: unknown;
}

function isScopeError(err: unknown): boolean {
  return err instanceof GatewayRequestError && err.code === "FORBIDDEN";
}

async function probeOne(t: ProbeTarget, budgetMs: number): Promise<TargetResult> {
  const base: TargetResult = {
    id: t.id,
    kind: t.kind,
    url: t.target.url,
    active: t.active,
    tunnel: t.tunnel,
    connect: { ok: false, rpcOk: false, scopeLimited: false, latencyMs: null, error: null, close: null },
    auth: { role: null, scopes: [], capability: "unknown" },
    server: { version: null, connId: null },
    self: null,
    config: null,
    health: null,
    summary: null,
    presence: null,
  };
  const started = performance.now();
  let client: GatewayClient | undefined;
  try {
    client = await connectTo(t.target, { identity: IDENTITY.probe, minProtocol: 3, timeoutMs: budgetMs });
  } catch (err) {
    const failure = await describeFailure(err, t.target);
    const e = failure.json.error as { type: string; reason?: string; message: string; details?: { code?: string } };
    base.connect.error = e.reason ?? e.message;
    const closeCode = (err as { extra?: { closeCode?: number; closeReason?: string } }).extra?.closeCode;
    base.connect.close = { code: closeCode ?? 1006, reason: (err as { extra?: { closeReason?: string } }).extra?.closeReason ?? "" };
    // The gateway answered (a refused connect, e.g. a wrong token): it is reachable, its auth failed.
    if (e.type === "gateway_request_error") {
      base.connect.ok = true;
      base.connect.latencyMs = Math.round(performance.now() - started);
    }
    if (e.details?.code === "PAIRING_REQUIRED") base.auth.capability = "pairing_pending";
    return base;
  }
  try {
    const hello = client.hello;
    base.connect.ok = true;
    base.connect.latencyMs = Math.round(performance.now() - started);
    base.auth = { role: hello.auth.role, scopes: hello.auth.scopes, capability: capabilityOf(hello.auth.scopes) };
    base.server = { version: hello.server.version, buildId: hello.server.buildId, bootId: hello.server.bootId, connId: hello.server.connId };
    const remaining = Math.max(500, budgetMs - (performance.now() - started));
    const calls = await Promise.allSettled([
      client.call("health", undefined, { timeoutMs: remaining }),
      client.call("status", undefined, { timeoutMs: remaining }),
      client.call("system-presence", undefined, { timeoutMs: remaining }),
      client.call("config.get", {}, { timeoutMs: remaining }),
    ]);
    const [health, status, presence, config] = calls;
    if (health.status === "fulfilled") base.health = health.value;
    if (status.status === "fulfilled") base.summary = status.value;
    if (presence.status === "fulfilled") {
      base.presence = presence.value;
      base.self = presence.value.find((e) => e.reason === "self") ?? null;
    }
    if (config.status === "fulfilled") {
      const c = config.value as typeof config.value & { legacyIssues?: unknown[] };
      const g = (c.config?.gateway ?? {}) as Record<string, unknown>;
      base.config = {
        path: c.path,
        exists: c.exists,
        valid: c.valid,
        issues: c.issues ?? [],
        legacyIssues: c.legacyIssues ?? [],
        gateway: { mode: g.mode, bind: g.bind, port: g.port, auth: g.auth, remote: g.remote, controlUi: g.controlUi, tailscale: g.tailscale },
      };
    }
    const failed = calls.filter((c) => c.status === "rejected") as PromiseRejectedResult[];
    base.connect.rpcOk = failed.length === 0;
    base.connect.scopeLimited = failed.some((f) => isScopeError(f.reason));
    base.connect.error = failed.length ? (failed[0].reason as Error).message : null;
    return base;
  } finally {
    void client.close();
  }
}

/** `user@host[:port]` → an `ssh -N -L` tunnel to the remote gateway port; resolves when listening. */
async function openTunnel(spec: string, remotePort: number, identity: string | undefined, budgetMs: number): Promise<{ proc: Subprocess; localPort: number }> {
  const m = /^([^@\s]+@)?([^:\s]+)(?::(\d+))?$/.exec(spec.trim());
  if (!m) throw new Error(`invalid --ssh target "${spec}" (use user@host[:port])`);
  const sshHost = `${m[1] ?? ""}${m[2]}`;
  const { freePort, tcpOpen } = await import("../system/ports.ts");
  const localPort = freePort();
  const cmd = ["ssh", "-N", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes", "-o", "ConnectTimeout=5", "-L", `127.0.0.1:${localPort}:127.0.0.1:${remotePort}`];
  if (m[3]) cmd.push("-p", m[3]);
  if (identity) cmd.push("-i", identity);
  cmd.push(sshHost);
  const proc = Bun.spawn(cmd, { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const deadline = Date.now() + budgetMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`ssh exited with code ${proc.exitCode}`);
    if (await tcpOpen(localPort)) return { proc, localPort };
    await Bun.sleep(100);
  }
  proc.kill();
  throw new Error("ssh tunnel did not come up in time");
}

function identityKey(r: TargetResult): string | undefined {
  if (r.server.bootId) return `boot:${r.server.bootId}`;
  const s = r.self;
  if (s && s.host && s.ip && (s.instanceId || s.deviceId)) return `${s.host}|${s.ip}|${s.instanceId ?? s.deviceId}`.toLowerCase();
  return undefined;
}

export const probeCommand = defineCommand({
  meta: { name: "probe", description: "Probe the explicit, configured and local gateways" },
  args: {
    url: { type: "string", description: "Also probe this URL (needs --token or --password)" },
    port: { type: "string", description: "Port of the local gateway" },
    token: { type: "string", description: "Gateway token" },
    password: { type: "string", description: "Gateway password" },
    timeout: { type: "string", description: "Probe budget in ms (default 3000)" },
    ssh: { type: "string", description: "Probe through an SSH tunnel: user@host[:port]" },
    "ssh-identity": { type: "string", description: "SSH identity file for --ssh" },
    json: { type: "boolean", description: "Print JSON" },
  },
  async run({ args }) {
    const json = Boolean(args.json);
    const started = performance.now();
    const tunnels: Subprocess[] = [];
    try {
      const budgetMs = timeoutArg(args.timeout, 3000);
      const warnings: Array<{ code: string; message: string; targetIds?: string[] }> = [];
      const targets: ProbeTarget[] = [];
      if (args.url) {
        const explicit = await targetOf({ url: args.url, token: args.token, password: args.password }, { needConfig: true });
        targets.push({ id: "explicit", kind: "explicit", target: explicit.target, active: true, tunnel: null });
      }
      // The flags' credentials belong to --url when it is given, else to the local gateway.
      const local = await targetOf(args.url ? { port: args.port } : { port: args.port, token: args.token, password: args.password }, {
        needConfig: true,
        env: { ...process.env, OPENCLAW_GATEWAY_URL: undefined },
      });
      const cfg = local.snapshot?.config;
      if (args.ssh) {
        const remotePort = cfg?.gateway?.remote?.remotePort ?? 18789;
        try {
          const { proc, localPort } = await openTunnel(String(args.ssh), remotePort, args["ssh-identity"] as string | undefined, budgetMs);
          tunnels.push(proc);
          const base = local.target;
          targets.push({
            id: "sshTunnel",
            kind: "sshTunnel",
            target: {
              ...base,
              url: `ws://127.0.0.1:${localPort}`,
              urlSource: "cli --url",
              local: false,
              token: args.token ?? base.token,
              password: args.password ?? base.password,
            },
            active: true,
            tunnel: { ssh: String(args.ssh), localPort, remotePort },
          });
        } catch (err) {
          warnings.push({ code: "ssh_tunnel_failed", message: `${SSH_FAILED_MESSAGE} (${(err as Error).message})`, targetIds: ["sshTunnel"] });
        }
      }
      if (!local.target.local) {
        // gateway.mode=remote: the configured remote is what the CLI talks to.
        targets.push({ id: "configRemote", kind: "configRemote", target: local.target, active: true, tunnel: null });
      } else {
        const remote = configuredRemoteTarget(local);
        if (remote) targets.push({ id: "configRemote", kind: "configRemote", target: remote, active: false, tunnel: null });
      }
      const loopbackPort = local.target.local ? local.target.port : (local.snapshot?.gateway.port ?? local.target.paths.defaultPort);
      const loopbackTls = local.target.local ? local.target : local.snapshot ? await localTls(local.snapshot) : { tls: false };
      const loopback: GatewayTarget = local.target.local
        ? local.target
        : {
            ...local.target,
            tls: loopbackTls.tls,
            tlsFingerprint: loopbackTls.tlsFingerprint,
            tlsError: loopbackTls.tlsError,
            url: `${loopbackTls.tls ? "wss" : "ws"}://127.0.0.1:${loopbackPort}`,
            urlSource: "local loopback",
            local: true,
            port: loopbackPort,
          };
      if (loopback.tls && !loopback.tlsFingerprint) {
        warnings.push({
          code: "local_tls_runtime_unavailable",
          message: `Local gateway TLS is enabled but OpenClaw could not load the local certificate fingerprint: ${loopback.tlsError ?? "unknown error"}`,
          targetIds: ["localLoopback"],
        });
      }
      targets.push({ id: "localLoopback", kind: "localLoopback", target: loopback, active: true, tunnel: null });

      // Bonjour browse of this machine's network runs beside the target probes.
      const discoveryMs = Math.min(1200, budgetMs);
      const browsing = import("../discovery/browse.ts")
        .then((m) => m.browseLocal({ timeoutMs: discoveryMs }))
        .catch((err: Error) => ({ beacons: [], warnings: [`Bonjour browse failed: ${err.message}`] }));
      const [results, browse] = await Promise.all([Promise.all(targets.map((t) => probeOne(t, budgetMs))), browsing]);
      const reachable = results.filter((r) => r.connect.ok);
      const limited = reachable.filter((r) => r.connect.scopeLimited);
      if (limited.length) warnings.push({ code: "probe_scope_limited", message: SCOPE_LIMITED_MESSAGE, targetIds: limited.map((r) => r.id) });
      for (const r of reachable.filter((x) => !x.connect.rpcOk && !x.connect.scopeLimited)) {
        warnings.push({ code: "probe_detail_failed", message: `${DETAIL_FAILED_MESSAGE}${r.connect.error ? `: ${r.connect.error}` : "."}`, targetIds: [r.id] });
      }
      const keys = new Set(reachable.map((r) => identityKey(r) ?? `unknown:${r.id}`));
      if (reachable.length >= 2 && keys.size >= 2) {
        warnings.push({
          code: "multiple_gateways",
          message: `multiple reachable gateways detected: ${reachable.map((r) => r.url).join(", ")} answer as different gateway instances. If that is intentional, isolate ports, config/state dirs and workspaces per gateway.`,
          targetIds: reachable.map((r) => r.id),
        });
      }
      if (reachable.length === 0) warnings.push({ code: "no_gateway_reachable", message: NONE_REACHABLE_MESSAGE });
      const primary =
        PRIORITY.map((k) => reachable.find((r) => r.kind === k)).find(Boolean) ?? PRIORITY.map((k) => results.find((r) => r.kind === k)).find(Boolean)!;
      const ok = reachable.length > 0;
      const report = {
        ok,
        degraded: ok && warnings.some((w) => w.code !== "multiple_gateways"),
        capability: primary.auth.capability,
        ts: Date.now(),
        durationMs: Math.round(performance.now() - started),
        timeoutMs: budgetMs,
        primaryTargetId: primary.id,
        warnings,
        network: { localLoopbackUrl: loopback.url, localTailnetUrl: null, tailnetIPv4: null },
        discovery: { timeoutMs: discoveryMs, count: browse.beacons.length, beacons: browse.beacons, ...(browse.warnings.length ? { warnings: browse.warnings } : {}) },
        targets: results,
      };
      if (json) printJson(report);
      else {
        const lines = ["Gateway Status", `Reachable: ${ok ? "yes" : "no"}`, `Capability: ${report.capability.replaceAll("_", "-")}`, `Probe budget: ${budgetMs}ms`];
        if (warnings.length) {
          lines.push("", "Warning:");
          for (const w of warnings) lines.push(`- ${w.message}`);
        }
        lines.push("", "Discovery (this machine)", `Found ${browse.beacons.length} gateway${browse.beacons.length === 1 ? "" : "s"} via Bonjour (local.)`);
        for (const b of browse.beacons) lines.push(`- ${b.displayName} ${b.wsUrl}${b.addresses.length ? ` (${b.addresses.join(", ")})` : ""}`);
        for (const w of browse.warnings) lines.push(`  ${w}`);
        lines.push("", "Targets");
        const headers: Record<TargetKind, string> = {
          explicit: "URL (explicit)",
          sshTunnel: "Remote over SSH",
          configRemote: "Remote (configured)",
          localLoopback: "Local loopback",
        };
        for (const r of results) {
          lines.push(`${headers[r.kind]}${r.kind === "configRemote" && !r.active ? " (inactive)" : ""} ${r.url}`);
          const capability = capabilityLabel(r.auth.capability);
          if (r.connect.ok) {
            const read = r.connect.rpcOk ? "ok" : r.connect.scopeLimited ? `limited - ${r.connect.error}` : `failed - ${r.connect.error}`;
            lines.push(`  Connect: ok (${r.connect.latencyMs}ms) · ${capability} · Read probe: ${read}`);
          } else if (r.auth.capability === "pairing_pending") {
            lines.push(`  Connect: blocked - ${r.connect.error} · ${capability}`);
          } else {
            lines.push(`  Connect: failed - ${r.connect.error} · ${capability}`);
          }
          lines.push("");
        }
        console.log(lines.join("\n").trimEnd());
      }
      if (!ok) process.exit(1);
    } catch (err) {
      await exitWithFailure(err, { json, what: "Gateway probe" });
    } finally {
      for (const t of tunnels) t.kill();
    }
  },
});
