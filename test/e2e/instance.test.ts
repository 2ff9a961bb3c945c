/**
 * One gateway per state dir and per port, `kill -9` recovery, and `--force`.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { healthOnce, logMessages, runToExit, spawnGateway, waitUntilListening, type GatewayChild } from "../../scripts/lib/gateway-child.ts";
import { freePort, within } from "../../scripts/lib/proc.ts";

const ROOT = resolve(import.meta.dir, "../..");
const COMMAND = [process.execPath, join(ROOT, "src", "main.ts")];
const TOKEN = "e2e-instance-token-0123456789";
const children: GatewayChild[] = [];
const dirs: string[] = [];

function stateDir(): string {
  const d = mkdtempSync(join(tmpdir(), "openclaw-e2e-inst-"));
  dirs.push(d);
  writeFileSync(join(d, "openclaw.json"), JSON.stringify({ gateway: { mode: "local", auth: { mode: "token", token: TOKEN } } }));
  return d;
}

function spawn(dir: string, port: number, extra: string[] = []): GatewayChild {
  const child = spawnGateway({ command: COMMAND, args: ["gateway", "--port", String(port), ...extra], port, stateDir: dir, cwd: ROOT });
  children.push(child);
  return child;
}

afterAll(async () => {
  for (const c of children) await c.stop(1000);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("instance exclusivity", () => {
  test("two gateways started at once on one port (separate state dirs): one serves, the other exits 78", async () => {
    const port = await freePort();
    const a = spawn(stateDir(), port);
    const b = spawn(stateDir(), port);
    const first = await within(Promise.race([a.proc.exited.then(() => "a"), b.proc.exited.then(() => "b")]), 10_000, "none" as const);
    expect(first).not.toBe("none");
    const loser = first === "a" ? a : b;
    const winner = first === "a" ? b : a;
    expect(loser.proc.exitCode).toBe(78);
    const messages = logMessages(loser.output());
    expect(messages.some((m) => m.startsWith(`Gateway failed to start: another gateway instance is already listening on ws://127.0.0.1:${port}`))).toBe(true);
    expect(messages).toContain(`Port ${port} is already in use.`);
    expect(messages.some((m) => m.startsWith(`- pid ${winner.pid}: `))).toBe(true);
    await waitUntilListening(winner, 10_000);
    expect((await healthOnce(port, TOKEN)).ok).toBe(true);
    await winner.stop();
  });

  test("a second gateway on the same state dir exits 78 naming the holder's pid", async () => {
    const dir = stateDir();
    const a = spawn(dir, await freePort());
    await waitUntilListening(a, 10_000);
    const b = spawn(dir, await freePort());
    const code = await within(b.proc.exited, 10_000, "timeout" as const);
    expect(code).toBe(78);
    expect(logMessages(b.output()).some((m) => m.startsWith(`Gateway failed to start: gateway already running (pid ${a.pid}) for state dir ${dir}`))).toBe(true);
    await a.stop();
  });

  test("kill -9, then an immediate restart on the same state dir and port succeeds", async () => {
    const dir = stateDir();
    const port = await freePort();
    const a = spawn(dir, port);
    await waitUntilListening(a, 10_000);
    a.proc.kill("SIGKILL");
    await a.proc.exited;
    const b = spawn(dir, port);
    await waitUntilListening(b, 10_000);
    expect((await healthOnce(port, TOKEN)).ok).toBe(true);
    await b.stop();
  });
});

describe("--force", () => {
  test("frees the port from a foreign listener and starts", async () => {
    const port = await freePort();
    const foreign = Bun.spawn(
      [process.execPath, "-e", `require("node:net").createServer(() => {}).listen(${port}, "127.0.0.1", () => console.log("up"))`],
      { stdout: "pipe", stderr: "ignore" },
    );
    try {
      const reader = foreign.stdout.getReader();
      const ready = await within(reader.read(), 10_000, undefined);
      expect(new TextDecoder().decode(ready?.value)).toContain("up");
      const g = spawn(stateDir(), port, ["--force"]);
      await waitUntilListening(g, 10_000);
      expect(await within(foreign.exited, 5_000, "alive" as const)).not.toBe("alive");
      const messages = logMessages(g.output());
      expect(messages.some((m) => m.startsWith(`force: killed pid ${foreign.pid} (`) && m.endsWith(`on port ${port}`))).toBe(true);
      expect((await healthOnce(port, TOKEN)).ok).toBe(true);
      await g.stop();
    } finally {
      foreign.kill("SIGKILL");
    }
  });

  test("replaces a running gateway that holds the same state dir", async () => {
    const dir = stateDir();
    const port = await freePort();
    const a = spawn(dir, port);
    await waitUntilListening(a, 10_000);
    const b = spawn(dir, port, ["--force"]);
    await waitUntilListening(b, 10_000);
    expect(await within(a.proc.exited, 5_000, "alive" as const)).toBe(0);
    expect((await healthOnce(port, TOKEN)).ok).toBe(true);
    await b.stop();
  });

  test("without --force a busy port is reported, not killed", async () => {
    const blocker: Server = createServer((s) => s.destroy());
    const port = await new Promise<number>((res) => blocker.listen({ host: "127.0.0.1", port: 0 }, () => res((blocker.address() as { port: number }).port)));
    try {
      const r = await runToExit({ command: COMMAND, args: ["gateway", "--port", String(port)], cwd: ROOT, env: { OPENCLAW_STATE_DIR: stateDir() }, timeoutMs: 10_000 });
      expect(r.exitCode).toBe(78);
      expect(blocker.listening).toBe(true);
    } finally {
      blocker.close();
    }
  });
});
