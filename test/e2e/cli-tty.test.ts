/**
 * What a user at a terminal sees: refusals are printed (on stderr, written before the process
 * exits), unknown or misspelt flags are refused before anything is written, and there are no
 * colour codes when stdout is not a terminal. Terminal runs go through util-linux `script`, so
 * stdout and stderr are a real TTY.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { configPath, runToExit } from "../../scripts/lib/gateway-child.ts";
import { ROOT, SOURCE_COMMAND as COMMAND } from "../helpers/children.ts";
import { useTempDirs } from "../helpers/state-dir.ts";

const tempDir = useTempDirs("openclaw-e2e-tty-");
const SCRIPT = Bun.which("script");
const ESC = "\u001b[";

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
/** HOME apart from the state dir: Bun keeps its transpiler cache under HOME. */
const home = () => tempDir();

/** Run the CLI on a pseudo-terminal; stdout and stderr arrive together. */
async function onTty(args: string[], stateDir: string) {
  const command = [...COMMAND, ...args].map(quote).join(" ");
  const r = await runToExit({
    command: [SCRIPT as string, "-qec", command, "/dev/null"],
    args: [],
    cwd: ROOT,
    env: { OPENCLAW_STATE_DIR: stateDir, HOME: home(), TERM: "xterm-256color" },
    timeoutMs: 30_000,
  });
  return { exitCode: r.exitCode, output: r.stdout.replaceAll("\r\n", "\n") };
}

function piped(args: string[], stateDir: string) {
  return runToExit({ command: COMMAND, args, cwd: ROOT, env: { OPENCLAW_STATE_DIR: stateDir, HOME: home() }, timeoutMs: 30_000 });
}

describe.skipIf(!SCRIPT)("on a terminal (util-linux script)", () => {
  test("bad --port, --bind and --auth values are printed, exit 1", async () => {
    for (const [args, message] of [
      [["gateway", "--port", "99999"], 'Invalid --port "99999". Use a number from 1 to 65535.'],
      [["gateway", "--bind", "nope"], 'Invalid --bind. Use "loopback", "lan", "tailnet", "auto", or "custom".'],
      [["gateway", "--auth", "nope"], 'Invalid --auth. Use "token", "password", "none", or "trusted-proxy".'],
    ] as const) {
      const dir = join(tempDir(), "state");
      const r = await onTty([...args], dir);
      expect(r.output).toContain(message);
      expect(r.exitCode).toBe(1);
      expect(existsSync(dir)).toBe(false);
    }
  });

  test("an invalid config is printed with its key path, exit 78", async () => {
    const dir = tempDir();
    writeFileSync(configPath(dir), JSON.stringify({ gateway: { mode: "local", port: "x" } }));
    const r = await onTty(["gateway"], dir);
    expect(r.output).toContain(`Invalid config at ${configPath(dir)}:`);
    expect(r.output).toContain("  × gateway.port:");
    expect(r.exitCode).toBe(78);
  });

  test("unknown and misspelt flags are refused before anything is written", async () => {
    for (const [args, flag, path] of [
      [["gateway", "--bogus"], "--bogus", "openclaw gateway"],
      [["gateway", "--bnd=lan"], "--bnd=lan", "openclaw gateway"],
      [["gateway", "run", "--prot", "1234"], "--prot", "openclaw gateway run"],
      [["gateway", "status", "--deeep"], "--deeep", "openclaw gateway status"],
      [["config", "get", "gateway.port", "--jsno"], "--jsno", "openclaw config get"],
    ] as const) {
      const dir = join(tempDir(), "state");
      const r = await onTty([...args], dir);
      expect(r.output).toContain(`OpenClaw does not recognize option "${flag}".\nTry: ${path} --help`);
      expect(r.exitCode).toBe(1);
      expect(existsSync(dir)).toBe(false);
    }
  });
});

describe("not a terminal", () => {
  test("errors go to stderr; stdout carries no colour codes", async () => {
    const dir = join(tempDir(), "state");
    const bogus = await piped(["gateway", "--bogus"], dir);
    expect(bogus.exitCode).toBe(1);
    expect(bogus.stdout).toBe("");
    expect(bogus.stderr).toBe('OpenClaw does not recognize option "--bogus".\nTry: openclaw gateway --help\n');
    const port = await piped(["gateway", "--port", "0"], dir);
    expect(port.stderr).toBe('Invalid --port "0". Use a number from 1 to 65535.\n');
    expect(existsSync(dir)).toBe(false);
    for (const args of [["--help"], ["gateway", "--help"], ["config", "validate"], ["nosuchcommand"]]) {
      const r = await piped(args, tempDir());
      expect(r.stdout + r.stderr).not.toContain(ESC);
    }
  });

  test("known flags pass: values of value flags, --no-<boolean>, --flag=value", async () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(configPath(dir), JSON.stringify({ gateway: { mode: "local" } }));
    const get = await piped(["config", "get", "gateway.mode", "--json"], dir);
    expect(get.stdout).toBe('"local"\n');
    const set = await piped(["config", "set", "--strict-json", "gateway.reload.debounceMs", "5"], dir);
    expect(set.exitCode).toBe(0);
    const status = await piped(["gateway", "status", "--no-probe", "--json", "--timeout=500"], dir);
    expect(status.exitCode).toBe(0);
    expect(JSON.parse(status.stdout).config.cli.valid).toBe(true);
  });
});
