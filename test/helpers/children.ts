/**
 * For e2e files that run `openclaw gateway` as a child process (from source or as the compiled
 * binary): spawn on a free port, wait until it listens (a failed start reports the child's
 * output), and one afterAll that stops every child by PID and removes every temp dir.
 */
import { afterAll } from "bun:test";
import { rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { spawnGateway, waitUntilListening, type GatewayChild, type SpawnGatewayOptions } from "../../scripts/lib/gateway-child.ts";
import { freePort } from "../../scripts/lib/proc.ts";
import { tempDir } from "./state-dir.ts";

/** The checkout. */
export const ROOT = resolve(import.meta.dir, "../..");
/** `openclaw` from source: this Bun running src/main.ts. */
export const SOURCE_COMMAND = [process.execPath, join(ROOT, "src", "main.ts")];

/** Wait (bounded) until the child listens; if it does not, the error carries the child's output. */
export async function waitListening(child: GatewayChild, timeoutMs = 15_000): Promise<GatewayChild> {
  try {
    await waitUntilListening(child, timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- gateway output ---\n${child.output()}`);
  }
  return child;
}

export interface ChildGatewayOptions extends Omit<SpawnGatewayOptions, "port" | "args"> {
  /** Default: a free port. */
  port?: number;
  /** Arguments after `gateway --port <port>`. */
  extraArgs?: string[];
}

export interface ChildGateways {
  /** A temp dir, removed in afterAll. */
  tempDir(prefix?: string): string;
  /** `<command> gateway --port <port> ...extraArgs`, not waited for; stopped in afterAll. */
  spawn(opts: ChildGatewayOptions): Promise<GatewayChild>;
  /** `spawn`, then wait until it listens. */
  start(opts: ChildGatewayOptions): Promise<GatewayChild>;
}

/** Call at the top level of a test file: registers the afterAll cleanup. */
export function useChildGateways(dirPrefix: string): ChildGateways {
  const children: GatewayChild[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(children.map((c) => c.stop(2_000)));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const spawn = async ({ port: fixedPort, extraArgs = [], ...rest }: ChildGatewayOptions) => {
    const port = fixedPort ?? (await freePort());
    const child = spawnGateway({ ...rest, port, args: ["gateway", "--port", String(port), ...extraArgs] });
    children.push(child);
    return child;
  };
  return {
    tempDir: (prefix = dirPrefix) => {
      const d = tempDir(prefix);
      dirs.push(d);
      return d;
    },
    spawn,
    start: async (opts) => waitListening(await spawn(opts)),
  };
}
