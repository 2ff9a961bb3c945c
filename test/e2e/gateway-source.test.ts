/**
 * End to end, from source: `bun src/main.ts gateway --port <free>` as a child process with its own
 * temp OPENCLAW_STATE_DIR, talked to over loopback only. Every child is stopped by PID in afterAll.
 */
import { describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { GatewayClient, GatewayConnectError } from "../../src/protocol/client.ts";
import { VERSION } from "../../src/version.ts";
import { configPath, healthOnce, logMessages, readConfig, runToExit } from "../../scripts/lib/gateway-child.ts";
import { freePort, within } from "../../scripts/lib/proc.ts";
import { ROOT, SOURCE_COMMAND as COMMAND, useChildGateways } from "../helpers/children.ts";
import { writeStateConfig } from "../helpers/state-dir.ts";

const gateways = useChildGateways("openclaw-e2e-src-");
const tempDir = gateways.tempDir;
const start = (stateDir: string) => gateways.start({ command: COMMAND, stateDir, cwd: ROOT });

/** Run the CLI to completion from source (bounded) with a fresh state dir. */
async function runCli(args: string[], stateDir: string, timeoutMs = 15_000) {
  const r = await runToExit({ command: COMMAND, args, cwd: ROOT, env: { OPENCLAW_STATE_DIR: stateDir }, timeoutMs });
  return { ...r, all: r.stdout + r.stderr, messages: logMessages(r.stdout + r.stderr).join("\n") };
}

describe("gateway from source", () => {
  test("--version prints the version line with the source build id", async () => {
    const r = await runCli(["--version"], tempDir());
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toBe(`OpenClaw ${VERSION} (source)`);
  });

  test("first run writes a 0600 token config; health over WebSocket and /healthz over HTTP work", async () => {
    const stateDir = tempDir();
    const child = await start(stateDir);

    const mode = statSync(configPath(stateDir)).mode & 0o777;
    expect(mode.toString(8)).toBe("600");
    const cfg = readConfig(stateDir);
    expect(cfg.gateway?.mode).toBe("local");
    expect(cfg.gateway?.auth?.mode).toBe("token");
    const token = cfg.gateway?.auth?.token ?? "";
    expect(token.length).toBeGreaterThanOrEqual(16);
    expect(cfg.meta?.lastTouchedVersion).toBe(VERSION);
    expect(logMessages(child.stdout.text).some((m) => m.startsWith(`created ${configPath(stateDir)}`))).toBe(true);

    const health = await healthOnce(child.port, token);
    expect(health.ok).toBe(true);

    const res = await fetch(`http://127.0.0.1:${child.port}/healthz`, { signal: AbortSignal.timeout(5_000) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, status: "live" });

    // The token is really checked: a wrong one is refused.
    const wrong = await GatewayClient.connect({
      url: `ws://127.0.0.1:${child.port}`,
      token: `${token}-wrong`,
      connectTimeoutMs: 5_000,
    }).then(
      async (c) => {
        await within(c.close(), 1_000, undefined);
        return undefined;
      },
      (err: unknown) => err,
    );
    expect(wrong).toBeInstanceOf(GatewayConnectError);
    expect((wrong as GatewayConnectError).kind).toBe("rejected");

    expect(await child.stop()).toBe(0);
  });

  test("SIGTERM sends `shutdown`, closes 1012 `service restart`, exits 0", async () => {
    const stateDir = tempDir();
    const token = "e2e-source-token-0123456789";
    writeStateConfig(stateDir, { gateway: { mode: "local", auth: { mode: "token", token } } });
    const child = await start(stateDir);
    const client = await GatewayClient.connect({ url: `ws://127.0.0.1:${child.port}`, token, connectTimeoutMs: 5_000 });
    const shutdown = client.waitForEvent("shutdown", 5_000);

    child.proc.kill("SIGTERM");

    const event = await shutdown;
    expect(event.payload).toEqual({ reason: "gateway stopping" });
    const closed = await within(client.closed, 5_000, "no close within 5 s" as const);
    expect(closed).toEqual({ code: 1012, reason: "service restart" });
    const code = await within(child.proc.exited, 5_000, "no exit within 5 s" as const);
    expect(code).toBe(0);
    expect(logMessages(child.stdout.text)).toContain("received SIGTERM; shutting down");
  });

  test("SIGTERM during startup (before or right as the port opens) still exits 0 and frees the state dir", async () => {
    const stateDir = tempDir();
    writeStateConfig(stateDir, { gateway: { mode: "local", auth: { mode: "token", token: "e2e-early-term-0123456789" } } });
    for (const waitFor of [/loading configuration/, /starting\.\.\./]) {
      const child = await gateways.spawn({ command: COMMAND, stateDir, cwd: ROOT });
      await child.stdout.waitFor(waitFor, 10_000);
      child.proc.kill("SIGTERM");
      const code = await within(child.proc.exited, 5_000, "no exit within 5 s" as const);
      expect(code).toBe(0);
    }
    // Nothing stale: a new gateway takes the same state dir at once.
    const again = await start(stateDir);
    expect((await healthOnce(again.port, "e2e-early-term-0123456789")).ok).toBe(true);
    await again.stop();
  });

  test("gateway.mode=remote refuses to start with exit 78", async () => {
    const stateDir = tempDir();
    writeStateConfig(stateDir, { gateway: { mode: "remote" } });
    const port = await freePort();
    const r = await runCli(["gateway", "--port", String(port)], stateDir);
    expect(r.exitCode).toBe(78);
    expect(r.messages).toContain("Gateway start blocked: set gateway.mode=local");
    expect(r.all).not.toContain("listening on ws://");
  });

  test("--bind lan --auth none refuses to start with exit 78", async () => {
    const stateDir = tempDir();
    writeStateConfig(stateDir, { gateway: { mode: "local" } });
    const port = await freePort();
    const r = await runCli(["gateway", "--port", String(port), "--bind", "lan", "--auth", "none"], stateDir);
    expect(r.exitCode).toBe(78);
    expect(r.messages.split("\n")).toContain("Refusing to bind gateway to lan without auth.");
    expect(r.all).not.toContain("listening on ws://");
  });

  test("an invalid config exits 78 naming the key path, without a stack trace", async () => {
    const stateDir = tempDir();
    const path = writeStateConfig(stateDir, { gateway: { port: "x" } });
    const port = await freePort();
    const r = await runCli(["gateway", "--port", String(port)], stateDir);
    expect(r.exitCode).toBe(78);
    const lines = r.messages.split("\n");
    expect(lines).toContain(`Invalid config at ${path}:`);
    expect(lines.some((l) => l.startsWith("  × gateway.port: "))).toBe(true);
    expect(r.all).not.toContain("    at ");
  });

  test("--port abc exits 1", async () => {
    const r = await runCli(["gateway", "--port", "abc"], tempDir());
    expect(r.exitCode).toBe(1);
    expect(r.messages).toContain('Invalid --port "abc"');
    expect(r.all).not.toContain("    at ");
  });

  test(
    "a busy port exits 78 (do not restart) naming the port and the listener's pid",
    async () => {
      const stateDir = tempDir();
      writeStateConfig(stateDir, { gateway: { mode: "local", auth: { mode: "token", token: "e2e-busy-port-token-0123" } } });
      const blocker: Server = createServer((s) => s.destroy());
      const port = await new Promise<number>((res, rej) => {
        blocker.once("error", rej);
        blocker.listen({ host: "127.0.0.1", port: 0, exclusive: true }, () => {
          const a = blocker.address();
          res(typeof a === "object" && a ? a.port : 0);
        });
      });
      try {
        const r = await runCli(["gateway", "--port", String(port)], stateDir, 25_000);
        expect(r.timedOut).toBe(false);
        expect(r.exitCode).toBe(78);
        expect(r.messages).toContain(
          `Gateway failed to start: another gateway instance is already listening on ws://127.0.0.1:${port}`,
        );
        expect(r.messages).toContain(`Port ${port} is already in use.`);
        expect(r.messages).toContain(`- pid ${process.pid}: `);
      } finally {
        await new Promise<void>((res) => blocker.close(() => res()));
      }
    },
    30_000,
  );
});
