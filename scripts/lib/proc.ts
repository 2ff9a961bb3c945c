/**
 * Small process helpers shared by the CI script, the startup benchmark and the e2e tests:
 * free ports, bounded waits on a TCP port or an output pattern, RSS from /proc, and stopping
 * a child by its PID (never by name). Every wait here has a deadline.
 */
import { createServer } from "node:net";
import { readdirSync, readFileSync } from "node:fs";

/** A free TCP port on 127.0.0.1: bind port 0, read the port, close. */
import { tcpOpen } from "../../src/system/ports.ts";

export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen({ host, port: 0, exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close((err) => (err ? reject(err) : port > 0 ? resolve(port) : reject(new Error("no port assigned"))));
    });
  });
}

/** One TCP connect attempt; true when something accepted the connection. */
export { tcpOpen as tryConnect } from "../../src/system/ports.ts";

export class WaitError extends Error {
  override name = "WaitError";
}

/**
 * Poll until `host:port` accepts a TCP connection. Rejects after `timeoutMs`, or as soon as
 * `exited` settles (the process died before opening the port).
 */
export async function waitForPort(
  port: number,
  opts: { host?: string; timeoutMs?: number; intervalMs?: number; exited?: Promise<unknown> } = {},
): Promise<void> {
  const host = opts.host ?? "127.0.0.1";
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 10;
  const deadline = performance.now() + timeoutMs;
  let exitedWith: unknown;
  let exited = false;
  opts.exited?.then(
    (v) => {
      exited = true;
      exitedWith = v;
    },
    () => {
      exited = true;
    },
  );
  // Bounded by both the deadline and a maximum number of attempts.
  const maxAttempts = Math.ceil(timeoutMs / Math.max(1, intervalMs)) + 10;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    if (exited) throw new WaitError(`process exited (${String(exitedWith)}) before ${host}:${port} opened`);
    if (await tcpOpen(port, host, Math.max(50, Math.min(1000, deadline - performance.now())))) return;
    if (performance.now() >= deadline) break;
    await Bun.sleep(intervalMs);
  }
  throw new WaitError(`${host}:${port} did not open within ${timeoutMs}ms`);
}

/**
 * Reads a child's output stream to the end, keeps the text, optionally echoes each chunk,
 * and lets callers wait (bounded) for a pattern to appear.
 */
export class OutputTap {
  text = "";
  readonly done: Promise<void>;
  private waiters = new Set<() => void>();

  constructor(stream: ReadableStream<Uint8Array> | null | undefined, echo?: (chunk: string) => void) {
    this.done = (async () => {
      if (!stream) return;
      const decoder = new TextDecoder();
      try {
        for await (const chunk of stream) {
          const s = decoder.decode(chunk, { stream: true });
          this.text += s;
          echo?.(s);
          for (const w of [...this.waiters]) w();
        }
        const rest = decoder.decode();
        if (rest) {
          this.text += rest;
          echo?.(rest);
        }
      } catch {
        // The stream errors when the process is killed mid-write; keep what we have.
      }
      for (const w of [...this.waiters]) w();
    })();
  }

  /** Resolve with the first line matching `pattern`; reject on timeout or end of stream. */
  waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const find = () => this.text.split("\n").find((line) => pattern.test(line));
    const hit = find();
    if (hit !== undefined) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      let ended = false;
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      const check = () => {
        const line = find();
        if (line !== undefined) {
          cleanup();
          resolve(line);
        } else if (ended) {
          cleanup();
          reject(new WaitError(`output ended without ${pattern}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new WaitError(`no output matching ${pattern} within ${timeoutMs}ms`));
      }, timeoutMs);
      this.waiters.add(check);
      void this.done.then(() => {
        ended = true;
        check();
      });
    });
  }
}

/** Resident set size of a live process in KiB (Linux /proc), or undefined if unavailable. */
export function readRssKiB(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The anonymous part of a live process's RSS in KiB (`RssAnon`: heap, JIT code, buffers), as
 * opposed to `RssFile` (clean pages of the executable and libraries, which belong to the page
 * cache). Undefined if unavailable.
 */
export function readRssAnonKiB(pid: number): number | undefined {
  try {
    const m = /^RssAnon:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU time of a process in ms, every thread: the run time in nanoseconds from
 * /proc/<pid>/task/<tid>/schedstat (utime + stime in /proc/<pid>/stat count 10 ms ticks, too
 * coarse for an idle process). Threads that exited meanwhile are not counted.
 */
export function cpuMs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // the thread just exited
    }
  }
  return ns / 1e6;
}

/** Resolve with `p`, or with `fallback` after `ms`. */
export async function within<T, F>(p: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<F>((r) => (timer = setTimeout(() => r(fallback), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Minimal view of a `Bun.spawn` result. */
export interface ChildLike {
  readonly pid: number;
  readonly exited: Promise<number>;
  readonly exitCode: number | null;
  readonly signalCode?: string | number | null;
  kill(signal?: number | NodeJS.Signals): void;
}

/**
 * Stop a child we spawned, by PID: `signal` (SIGTERM) first, SIGKILL after `graceMs`.
 * Returns the exit code, or null if it had to be killed hard. Safe to call twice.
 */
export async function stopChild(child: ChildLike, graceMs = 5_000, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode) return child.exitCode;
  try {
    child.kill(signal);
  } catch {}
  const code = await within(child.exited, graceMs, "timeout" as const);
  if (code !== "timeout") return code;
  try {
    child.kill("SIGKILL");
  } catch {}
  await within(child.exited, 2_000, undefined);
  return null;
}

/**
 * Environment for a child gateway: inherited minus anything that would change Bun or the gateway.
 * Bonjour is off unless `extra` turns it on: tests, CI and benchmarks must not advertise on the
 * host's network (the discovery tests do it inside network namespaces they create).
 */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = { OPENCLAW_DISABLE_BONJOUR: "1" };
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (k.startsWith("OPENCLAW_") || k === "BUN_OPTIONS" || k === "BUN_BE_BUN" || k === "NODE_OPTIONS") continue;
    if (k === "NODE_ENV" || k === "PORT" || k === "BUN_PORT" || k === "NODE_PORT") continue;
    env[k] = v;
  }
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}
