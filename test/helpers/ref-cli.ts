/**
 * The official `openclaw` CLI (OPENCLAW_REF_CLI), run with its own HOME, state dir and an empty
 * config so it never reads or writes the real ~/.openclaw.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Run the official CLI with its own HOME and state (never the real ~/.openclaw); `config` is its openclaw.json (default empty). */
export async function officialCli(
  ref: string,
  args: string[],
  home: string,
  opts: { spawnPrefix?: string[]; config?: Record<string, unknown> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const state = join(home, ".openclaw");
  mkdirSync(state, { recursive: true });
  const configPath = join(state, "openclaw.json");
  writeFileSync(configPath, `${JSON.stringify(opts.config ?? {})}\n`);
  const proc = Bun.spawn([...(opts.spawnPrefix ?? []), ref, ...args], {
    env: { PATH: process.env.PATH ?? "", HOME: home, OPENCLAW_STATE_DIR: state, OPENCLAW_CONFIG_PATH: configPath, NO_COLOR: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

