/**
 * The operator CLI end to end, from source, against a live gateway process, a dead port and a
 * wrong token: human lines and JSON.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { runToExit, spawnGateway, waitUntilListening, type GatewayChild } from "../../scripts/lib/gateway-child.ts";
import { freePort } from "../../scripts/lib/proc.ts";

const ROOT = resolve(import.meta.dir, "../..");
const COMMAND = [process.execPath, join(ROOT, "src", "main.ts")];
const TOKEN = "e2e-cli-token-0123456789abcdef";

let gw: GatewayChild;
let stateDir: string;
let port: number;
let deadPort: number;
const dirs: string[] = [];

function dir(): string {
  const d = mkdtempSync(join(tmpdir(), "openclaw-e2e-cli-"));
  dirs.push(d);
  return d;
}

async function cli(args: string[], env: Record<string, string | undefined> = {}) {
  const r = await runToExit({ command: COMMAND, args, cwd: ROOT, env: { OPENCLAW_STATE_DIR: stateDir, ...env }, timeoutMs: 20_000 });
  expect(r.timedOut).toBe(false);
  return r;
}

function json(text: string): any {
  return JSON.parse(text);
}

beforeAll(async () => {
  stateDir = dir();
  port = await freePort();
  deadPort = await freePort();
  writeFileSync(join(stateDir, "openclaw.json"), JSON.stringify({ gateway: { mode: "local", port, auth: { mode: "token", token: TOKEN } } }));
  gw = spawnGateway({ command: COMMAND, args: ["gateway"], port, stateDir, cwd: ROOT });
  await waitUntilListening(gw, 15_000);
});

afterAll(async () => {
  await gw?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("gateway call", () => {
  test("local config: human output and JSON", async () => {
    const human = await cli(["gateway", "call", "health"]);
    expect(human.exitCode).toBe(0);
    expect(human.stdout.split("\n")[0]).toBe("Gateway call: health");
    expect(json(human.stdout.slice(human.stdout.indexOf("\n") + 1)).ok).toBe(true);
    const r = await cli(["gateway", "call", "system-presence", "--json"]);
    expect(r.exitCode).toBe(0);
    expect(json(r.stdout)[0]).toMatchObject({ mode: "gateway", reason: "self" });
  });

  test("--url with --token and --params", async () => {
    const r = await cli(["gateway", "call", "models.list", "--url", `ws://127.0.0.1:${port}`, "--token", TOKEN, "--params", "{}", "--json"]);
    expect(r.exitCode).toBe(0);
    expect(json(r.stdout)).toEqual({ models: [] });
  });

  test("unknown method: gateway_request_error, exit 1", async () => {
    const r = await cli(["gateway", "call", "no.such.method", "--json"]);
    expect(r.exitCode).toBe(1);
    expect(json(r.stdout)).toEqual({
      ok: false,
      error: { type: "gateway_request_error", code: "INVALID_REQUEST", message: "unknown method: no.such.method", retryable: false },
    });
    const human = await cli(["gateway", "call", "no.such.method"]);
    expect(human.stderr.trim()).toBe("Gateway call failed: unknown method: no.such.method");
  });

  test("wrong token: AUTH_TOKEN_MISMATCH", async () => {
    const r = await cli(["gateway", "call", "health", "--url", `ws://127.0.0.1:${port}`, "--token", "wrong", "--json"]);
    expect(r.exitCode).toBe(1);
    const out = json(r.stdout);
    expect(out.error).toMatchObject({ type: "gateway_request_error", code: "INVALID_REQUEST", retryable: false });
    expect(out.error.message).toStartWith("unauthorized: gateway token mismatch");
    expect(out.error.details.code).toBe("AUTH_TOKEN_MISMATCH");
  });

  test("dead port: gateway_transport_error with ECONNREFUSED", async () => {
    const r = await cli(["gateway", "call", "health", "--url", `ws://127.0.0.1:${deadPort}`, "--token", "x", "--json"]);
    expect(r.exitCode).toBe(1);
    expect(json(r.stdout)).toEqual({
      ok: false,
      error: {
        type: "gateway_transport_error",
        kind: "closed",
        message: `Gateway not reachable at ws://127.0.0.1:${deadPort} (ECONNREFUSED).`,
        reason: `connect ECONNREFUSED 127.0.0.1:${deadPort}`,
      },
      gateway: { url: `ws://127.0.0.1:${deadPort}`, urlSource: "cli --url" },
    });
    const human = await cli(["gateway", "call", "health", "--url", `ws://127.0.0.1:${deadPort}`, "--token", "x"]);
    expect(human.stderr.split("\n").slice(0, 3)).toEqual([
      `Gateway not reachable at ws://127.0.0.1:${deadPort} (ECONNREFUSED).`,
      "Start it with `openclaw gateway run` or check `openclaw gateway status`.",
      `Gateway target: ws://127.0.0.1:${deadPort}`,
    ]);
  });

  test("--url without credentials: gateway_credentials_required before any socket", async () => {
    const r = await cli(["gateway", "call", "health", "--url", `ws://127.0.0.1:${port}`, "--json"]);
    expect(r.exitCode).toBe(1);
    const out = json(r.stdout);
    expect(out.ok).toBe(false);
    expect(out.error.type).toBe("gateway_credentials_required");
    expect(out.error.message.split("\n")[0]).toBe("gateway url override requires explicit credentials");
  });

  test("bad --params is a cli_error", async () => {
    const r = await cli(["gateway", "call", "health", "--params", "[1]", "--json"]);
    expect(r.exitCode).toBe(1);
    expect(json(r.stdout).error).toEqual({ type: "cli_error", message: "Invalid --params: expected a JSON object" });
  });
});

describe("health", () => {
  test("openclaw health: the upstream human lines; --json is the payload", async () => {
    const r = await cli(["health"]);
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^Gateway probe duration: \d+ms$/);
    expect(lines.slice(1)).toEqual([
      "Agents: main (default)",
      // No heartbeat config: the default cadence, as the original (its captures set "0m" to turn it off).
      "Heartbeat interval: 30m (main)",
      `Session store (main): ${join(stateDir, "openclaw.sqlite")} (0 entries)`,
    ]);
    const j = await cli(["health", "--json"]);
    expect(json(j.stdout)).toMatchObject({ ok: true, defaultAgentId: "main" });
  });

  test("openclaw gateway health", async () => {
    const r = await cli(["gateway", "health"]);
    expect(r.stdout.trim().split("\n")[0]).toBe("Gateway Health");
    expect(r.stdout.trim().split("\n")[1]).toMatch(/^OK \(\d+ms\)$/);
  });

  test("OPENCLAW_GATEWAY_URL + OPENCLAW_GATEWAY_TOKEN drive health", async () => {
    const other = dir();
    const r = await cli(["health", "--json"], { OPENCLAW_STATE_DIR: other, OPENCLAW_GATEWAY_URL: `ws://127.0.0.1:${port}`, OPENCLAW_GATEWAY_TOKEN: TOKEN });
    expect(r.exitCode).toBe(0);
    expect(json(r.stdout).ok).toBe(true);
  });

  test("dead gateway: exit 1 with the transport error", async () => {
    const r = await cli(["health"], { OPENCLAW_GATEWAY_PORT: String(deadPort) });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`Gateway not reachable at ws://127.0.0.1:${deadPort} (ECONNREFUSED).`);
  });
});

describe("gateway status", () => {
  test("running gateway: runtime from the instance lock, probe ok, capability, listeners", async () => {
    const r = await cli(["gateway", "status"]);
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines).toContain(`Runtime: running (pid ${gw.pid})`);
    expect(lines).toContain("Connectivity probe: ok");
    // Human output spells the capability with hyphens, as the original (JSON keeps connected_no_operator_scope).
    expect(lines).toContain("Capability: connected-no-operator-scope");
    expect(lines).toContain(`Gateway: bind=loopback (127.0.0.1), port=${port} (env/config)`);
    // No systemd here: the label says so; on a systemd host no unit is installed for this HOME.
    const service = lines.find((l) => l.startsWith("Service: "));
    expect(service).toMatch(/^Service: (no supported service manager detected|systemd \((disabled|unavailable)\))$/);
    expect(lines.find((l) => l.startsWith("Listening: "))).toContain(`127.0.0.1:${port}`);
  });

  test("--require-rpc: read probe, capability read_only; --json shape", async () => {
    const r = await cli(["gateway", "status", "--require-rpc", "--json"]);
    expect(r.exitCode).toBe(0);
    const out = json(r.stdout);
    expect(out.rpc).toMatchObject({ ok: true, kind: "read", capability: "read_only", auth: { role: "operator", scopes: ["operator.read"], capability: "read_only" } });
    expect(out.service.runtime).toMatchObject({ status: "running", pid: gw.pid });
    expect(out.gateway).toMatchObject({ bindMode: "loopback", port, probeUrl: `ws://127.0.0.1:${port}` });
    expect(out.port.status).toBe("busy");
    expect(out.port.listeners[0].pid).toBe(gw.pid);
    expect(out.config.cli).toEqual({ path: join(stateDir, "openclaw.json"), exists: true, valid: true });
  });

  test("dead port: stopped, probe failed with the reason, exit 0 (1 with --require-rpc)", async () => {
    const other = dir();
    writeFileSync(join(other, "openclaw.json"), JSON.stringify({ gateway: { mode: "local", port: deadPort, auth: { token: TOKEN } } }));
    const r = await cli(["gateway", "status"], { OPENCLAW_STATE_DIR: other });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("Runtime: stopped");
    expect(r.stdout).toContain(`Connectivity probe: failed (connect ECONNREFUSED 127.0.0.1:${deadPort})`);
    expect(r.stdout).toContain("Capability: unknown");
    const rpc = await cli(["gateway", "status", "--require-rpc"], { OPENCLAW_STATE_DIR: other });
    expect(rpc.exitCode).toBe(1);
    expect(rpc.stdout).toContain("Read probe: failed");
  });

  test("works with an invalid config and says so", async () => {
    const other = dir();
    writeFileSync(join(other, "openclaw.json"), '{ gateway: { port: "nope" } }');
    const r = await cli(["gateway", "status", "--no-probe"], { OPENCLAW_STATE_DIR: other });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("(invalid)");
    expect(r.stdout).toContain("  × gateway.port:");
  });

  test("wrong token: probe fails with the auth message", async () => {
    const r = await cli(["gateway", "status", "--url", `ws://127.0.0.1:${port}`, "--token", "wrong"]);
    expect(r.stdout).toContain("Connectivity probe: failed (unauthorized: gateway token mismatch");
  });
});

describe("gateway probe", () => {
  test("scope-limited probe of the local gateway, like upstream", async () => {
    const r = await cli(["gateway", "probe", "--json"]);
    expect(r.exitCode).toBe(0);
    const out = json(r.stdout);
    expect(out).toMatchObject({ ok: true, degraded: true, capability: "connected_no_operator_scope", primaryTargetId: "localLoopback" });
    expect(out.warnings.map((w: any) => w.code)).toEqual(["probe_scope_limited"]);
    expect(out.targets[0].connect).toMatchObject({ ok: true, rpcOk: false, scopeLimited: true, error: "missing scope: operator.read" });
    expect(out.targets[0].health.ok).toBe(true);
  });

  test("the same gateway on two addresses is one gateway; a second one warns", async () => {
    const same = await cli(["gateway", "probe", "--url", `ws://localhost:${port}`, "--token", TOKEN, "--json"]);
    const out = json(same.stdout);
    expect(out.primaryTargetId).toBe("explicit");
    expect(out.targets.filter((t: any) => t.connect.ok).length).toBe(2);
    expect(out.warnings.map((w: any) => w.code)).not.toContain("multiple_gateways");

    const otherDir = dir();
    const otherPort = await freePort();
    writeFileSync(join(otherDir, "openclaw.json"), JSON.stringify({ gateway: { mode: "local", port: otherPort, auth: { token: TOKEN } } }));
    const other = spawnGateway({ command: COMMAND, args: ["gateway"], port: otherPort, stateDir: otherDir, cwd: ROOT });
    try {
      await waitUntilListening(other, 15_000);
      const two = await cli(["gateway", "probe", "--url", `ws://127.0.0.1:${otherPort}`, "--token", TOKEN]);
      expect(two.exitCode).toBe(0);
      expect(two.stdout).toContain("multiple reachable gateways detected");
    } finally {
      await other.stop();
    }
  });

  test("a wrong token: the gateway is reachable and its auth failed (not 'unreachable')", async () => {
    const r = await cli(["gateway", "probe", "--url", `ws://127.0.0.1:${port}`, "--token", "wrong-token", "--json"]);
    expect(r.exitCode).toBe(0);
    const out = json(r.stdout);
    expect(out.ok).toBe(true);
    expect(out.primaryTargetId).toBe("explicit");
    const explicit = out.targets.find((t: any) => t.id === "explicit");
    expect(explicit.connect).toMatchObject({ ok: true, rpcOk: false, scopeLimited: false });
    expect(explicit.connect.latencyMs).toBeGreaterThanOrEqual(0);
    expect(explicit.connect.error).toStartWith("unauthorized: gateway token mismatch");
    expect(explicit.auth.capability).toBe("unknown");
    const detail = out.warnings.find((w: any) => w.code === "probe_detail_failed" && w.targetIds[0] === "explicit");
    expect(detail.message).toStartWith("Gateway accepted the WebSocket connection, but follow-up read diagnostics failed: unauthorized: gateway token mismatch");
    expect(out.warnings.map((w: any) => w.code)).not.toContain("no_gateway_reachable");
    const human = await cli(["gateway", "probe", "--url", `ws://127.0.0.1:${port}`, "--token", "wrong-token"]);
    expect(human.stdout).toContain("Reachable: yes");
    expect(human.stdout).toMatch(/Connect: ok \(\d+ms\) · Capability: unknown · Read probe: failed - unauthorized: gateway token mismatch/);
  });

  test("nothing reachable: exit 1, no_gateway_reachable", async () => {
    const r = await cli(["gateway", "probe", "--json"], { OPENCLAW_GATEWAY_PORT: String(deadPort) });
    expect(r.exitCode).toBe(1);
    const out = json(r.stdout);
    expect(out.ok).toBe(false);
    expect(out.warnings.map((w: any) => w.code)).toEqual(["no_gateway_reachable"]);
    expect(out.targets[0].connect.error).toBe(`connect ECONNREFUSED 127.0.0.1:${deadPort}`);
  });

  test("--ssh to an unreachable host falls back to direct probes with the upstream warning", async () => {
    const r = await cli(["gateway", "probe", "--ssh", "nobody@127.0.0.1:1", "--json", "--timeout", "2000"]);
    const out = json(r.stdout);
    const w = out.warnings.find((x: any) => x.code === "ssh_tunnel_failed");
    expect(w.message).toStartWith("SSH tunnel failed to start; falling back to direct probes.");
    expect(out.targets.some((t: any) => t.kind === "localLoopback" && t.connect.ok)).toBe(true);
  });
});

describe("status", () => {
  test("overview table and JSON", async () => {
    const r = await cli(["status"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe("OpenClaw status");
    expect(r.stdout).toMatch(new RegExp(`Gateway +│ local · ws://127\\.0\\.0\\.1:${port} \\(local loopback\\) · reachable \\d+ms · auth token`));
    const j = json((await cli(["status", "--json"])).stdout);
    expect(j).toMatchObject({ runtimeVersion: "2026.9.6", gateway: { reachable: true, mode: "local", urlSource: "local loopback" } });
    expect(j.gateway.self).toMatchObject({ mode: "gateway", reason: "self" });
    expect(j.cliProjection).toBeUndefined();
  });

  test("--deep runs the HTTP probes", async () => {
    const j = json((await cli(["status", "--deep", "--json"])).stdout);
    expect(j.probes.http.map((p: any) => [p.path, p.status])).toEqual([
      ["/startupz", 200],
      ["/healthz", 200],
      ["/readyz", 200],
    ]);
  });

  test("gateway down: still exit 0, reachable false with the reason", async () => {
    const j = json((await cli(["status", "--json"], { OPENCLAW_GATEWAY_PORT: String(deadPort) })).stdout);
    expect(j.gateway.reachable).toBe(false);
    expect(j.gateway.error).toBe(`connect ECONNREFUSED 127.0.0.1:${deadPort}`);
  });
});

describe("logs", () => {
  test("through logs.tail while the gateway is up", async () => {
    const r = await cli(["logs", "--limit", "50", "--json"]);
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ type: "meta", sourceKind: "rpc", file: join(stateDir, "logs", "gateway.log") });
    expect(lines.some((l) => l.type === "log" && String(l.message).startsWith("listening on ws://"))).toBe(true);
  });

  test("--follow shows new lines as they are written", async () => {
    const proc = Bun.spawn([...COMMAND, "logs", "--follow", "--limit", "1"], {
      cwd: ROOT,
      env: { ...process.env, OPENCLAW_STATE_DIR: stateDir },
      stdout: "pipe",
      stderr: "ignore",
    });
    try {
      const reader = proc.stdout.getReader();
      let text = "";
      const readUntil = async (needle: string, ms: number) => {
        const deadline = Date.now() + ms;
        while (!text.includes(needle) && Date.now() < deadline) {
          const chunk = await Promise.race([reader.read(), Bun.sleep(Math.max(1, deadline - Date.now())).then(() => undefined)]);
          if (chunk?.value) text += new TextDecoder().decode(chunk.value);
          if (chunk?.done) break;
        }
        return text.includes(needle);
      };
      await Bun.sleep(800); // first poll done
      const marker = `wrong-${Date.now()}`;
      await cli(["gateway", "call", "health", "--url", `ws://127.0.0.1:${port}`, "--token", marker]);
      expect(await readUntil("connect rejected: token_mismatch", 5_000)).toBe(true);
    } finally {
      proc.kill();
      await proc.exited;
    }
  });

  test("gateway down: reads the log file directly", async () => {
    const other = dir();
    const logDir = join(other, "logs");
    await Bun.write(join(logDir, "gateway.log"), `${JSON.stringify({ time: "2026-01-01T00:00:00.000Z", level: "info", subsystem: "gateway", message: "from the file" })}\n`);
    writeFileSync(join(other, "openclaw.json"), JSON.stringify({ gateway: { mode: "local", port: deadPort, auth: { token: TOKEN } } }));
    const r = await cli(["logs"], { OPENCLAW_STATE_DIR: other });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toBe("2026-01-01T00:00:00.000Z info gateway from the file");
    expect(r.stderr).toContain("gateway not reachable; reading");
    // Never for an explicit --url.
    const url = await cli(["logs", "--url", `ws://127.0.0.1:${deadPort}`, "--token", "x"], { OPENCLAW_STATE_DIR: other });
    expect(url.exitCode).toBe(1);
  });
});
