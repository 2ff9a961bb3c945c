/**
 * `openclaw gateway --force`: free the port before starting. Every listener gets SIGTERM, then
 * SIGKILL after a grace period; then we wait until the port can be bound. A gateway that an
 * installed service supervises is never killed (the supervisor would just restart it): the
 * operator is pointed to `openclaw gateway restart` instead.
 */
import { readFile } from "node:fs/promises";
import { listenersOnPort, portIsFree, processInfo, type Listener } from "./ports.ts";

export interface ForceLog {
  info(message: string): void;
  debug(message: string): void;
}

export class ForceError extends Error {
  override name = "ForceError";
}

export interface ForceOptions {
  graceMs?: number;
  killMs?: number;
  bindWaitMs?: number;
  /** Extra pids to stop (e.g. the holder of the state-dir lock). */
  extraPids?: number[];
}

const SERVICE_CGROUP = /\/(openclaw-gateway[^/]*\.service)$/m;

/** The systemd unit that supervises `pid`, when it is one of ours (Linux). */
export async function supervisingUnit(pid: number): Promise<string | undefined> {
  if (process.platform !== "linux") return undefined;
  const cgroup = await readFile(`/proc/${pid}/cgroup`, "utf8").catch(() => "");
  return SERVICE_CGROUP.exec(cgroup.trim())?.[1];
}

/** True while a process with this pid exists (EPERM: it exists but belongs to someone else). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function waitGone(pids: number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = pids.filter(alive);
  while (left.length > 0 && Date.now() < deadline) {
    await Bun.sleep(100);
    left = left.filter(alive);
  }
  return left;
}

export async function forceFreePort(port: number, log: ForceLog, opts: ForceOptions = {}): Promise<void> {
  const graceMs = opts.graceMs ?? 700;
  const killMs = opts.killMs ?? 2000;
  const bindWaitMs = opts.bindWaitMs ?? 3000;
  const own = process.pid;
  const listeners: Listener[] = (await listenersOnPort(port)).filter((l) => l.pid !== own);
  for (const pid of opts.extraPids ?? []) {
    if (pid !== own && !listeners.some((l) => l.pid === pid) && alive(pid)) {
      const info = await processInfo(pid);
      listeners.push({ pid, name: info.name, command: info.command });
    }
  }
  if (listeners.length === 0) {
    log.debug(`force: no listeners on port ${port}`);
  } else {
    for (const l of listeners) {
      const unit = await supervisingUnit(l.pid);
      if (unit) {
        throw new ForceError(
          `Refusing to kill pid ${l.pid} (${l.name}): it is the gateway run by the installed service ${unit}. Use openclaw gateway restart instead.`,
        );
      }
    }
    for (const l of listeners) {
      try {
        process.kill(l.pid, "SIGTERM");
      } catch (err) {
        throw new ForceError(`Could not free port ${port}: cannot signal pid ${l.pid} (${(err as NodeJS.ErrnoException).code}). Run openclaw gateway status --deep to inspect the listener.`);
      }
    }
    let left = await waitGone(listeners.map((l) => l.pid), graceMs);
    if (left.length > 0) {
      log.info(`force: escalated to SIGKILL while freeing port ${port}`);
      for (const pid of left) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      }
      left = await waitGone(left, Math.max(0, killMs - graceMs));
    }
    for (const l of listeners) {
      if (!left.includes(l.pid)) log.info(`force: killed pid ${l.pid} (${l.name}) on port ${port}`);
    }
    if (left.length > 0) {
      throw new ForceError(`Could not free port ${port}: port ${port} still has listeners after --force: ${left.join(", ")}. Run openclaw gateway status --deep to inspect the listener.`);
    }
  }
  const started = Date.now();
  while (!(await portIsFree(port))) {
    if (Date.now() - started > bindWaitMs) {
      const still = await listenersOnPort(port);
      throw new ForceError(
        `Could not free port ${port}: ${still.length ? `port ${port} still has listeners after --force: ${still.map((l) => l.pid).join(", ")}` : "the port is still in use"}. Run openclaw gateway status --deep to inspect the listener.`,
      );
    }
    await Bun.sleep(150);
  }
  const waited = Date.now() - started;
  if (waited > 0 && listeners.length > 0) log.info(`force: waited ${waited}ms for port ${port} to become bindable`);
}
