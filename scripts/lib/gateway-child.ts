/**
 * Run `openclaw gateway` as a child process the way a user would (from source or as the compiled
 * binary), with its own state dir and port, and talk to it over loopback only.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GatewayClient } from "../../src/protocol/client.ts";
import { cleanEnv, OutputTap, stopChild, waitForPort, within } from "./proc.ts";

export interface GatewayChild {
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  pid: number;
  port: number;
  stateDir: string;
  stdout: OutputTap;
  stderr: OutputTap;
  /** stdout + stderr so far. */
  output(): string;
  /** SIGTERM, SIGKILL after `graceMs`; resolves with the exit code (null if killed hard). */
  stop(graceMs?: number): Promise<number | null>;
}

export interface SpawnGatewayOptions {
  /** Command prefix, e.g. `[process.execPath, "src/main.ts"]` or `["dist/openclaw"]`. */
  command: string[];
  /** Arguments after the command; default `["gateway", "--port", String(port)]`. */
  args?: string[];
  port: number;
  stateDir: string;
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Stream the child's output to ours (CI). */
  echo?: boolean;
}

export function spawnGateway(opts: SpawnGatewayOptions): GatewayChild {
  const args = opts.args ?? ["gateway", "--port", String(opts.port)];
  const proc = Bun.spawn([...opts.command, ...args], {
    cwd: opts.cwd,
    env: cleanEnv({ OPENCLAW_STATE_DIR: opts.stateDir, ...opts.env }),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const stdout = new OutputTap(proc.stdout, opts.echo ? (s) => process.stdout.write(s) : undefined);
  const stderr = new OutputTap(proc.stderr, opts.echo ? (s) => process.stderr.write(s) : undefined);
  return {
    proc,
    pid: proc.pid,
    port: opts.port,
    stateDir: opts.stateDir,
    stdout,
    stderr,
    output: () => stdout.text + stderr.text,
    stop: (graceMs = 5_000) => stopChild(proc, graceMs),
  };
}

/** Run a command to completion (bounded); SIGKILL on timeout. */
export async function runToExit(opts: {
  command: string[];
  args: string[];
  cwd?: string;
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
}): Promise<{ exitCode: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  const proc = Bun.spawn([...opts.command, ...opts.args], {
    cwd: opts.cwd,
    env: cleanEnv(opts.env),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const out = new OutputTap(proc.stdout);
  const err = new OutputTap(proc.stderr);
  const code = await within(proc.exited, opts.timeoutMs ?? 15_000, "timeout" as const);
  let timedOut = false;
  if (code === "timeout") {
    timedOut = true;
    await stopChild(proc, 0, "SIGKILL");
  }
  await within(Promise.all([out.done, err.done]), 2_000, undefined);
  return { exitCode: code === "timeout" ? null : code, stdout: out.text, stderr: err.text, timedOut };
}

/** Wait until the child listens: the TCP port accepts, and the log says `listening on ws://` (or wss://). */
export async function waitUntilListening(child: GatewayChild, timeoutMs = 15_000): Promise<void> {
  await waitForPort(child.port, { timeoutMs, exited: child.proc.exited });
  await child.stdout.waitFor(/listening on wss?:\/\//, 2_000);
}

export interface WrittenConfig {
  gateway?: { mode?: string; auth?: { mode?: string; token?: string } };
  meta?: { lastTouchedVersion?: string };
}

export function configPath(stateDir: string): string {
  return join(stateDir, "openclaw.json");
}

/** Write the config of a gateway set up before: local mode, token auth with `token` (mode 0600). */
export function writeTokenConfig(stateDir: string, token: string): void {
  writeFileSync(configPath(stateDir), JSON.stringify({ gateway: { mode: "local", auth: { mode: "token", token } } }), { mode: 0o600 });
}

export function readConfig(stateDir: string): WrittenConfig {
  return JSON.parse(readFileSync(configPath(stateDir), "utf8")) as WrittenConfig;
}

/** Connect with `token`, call `health` once, close. Bounded by `timeoutMs` overall steps. */
export async function healthOnce(port: number, token: string, timeoutMs = 5_000): Promise<Record<string, unknown>> {
  const client = await GatewayClient.connect({
    url: `ws://127.0.0.1:${port}`,
    token,
    connectTimeoutMs: timeoutMs,
    requestTimeoutMs: timeoutMs,
  });
  try {
    return await client.request<Record<string, unknown>>("health");
  } finally {
    await within(client.close(), 1_000, undefined);
  }
}

/** Log messages from the gateway's JSON-lines stdout (non-JSON lines are kept verbatim). */
export function logMessages(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const rec = JSON.parse(line) as { message?: unknown };
      out.push(typeof rec.message === "string" ? rec.message : line);
    } catch {
      out.push(line);
    }
  }
  return out;
}
