/**
 * One config, one verdict: a table of config files run through `openclaw config validate`,
 * `openclaw doctor --json` and `openclaw gateway` (from source, as child processes). All three
 * read the same snapshot (src/config/snapshot.ts), so they must agree on every file. And with
 * a damaged file, `gateway status --port N` (and OPENCLAW_GATEWAY_PORT) still target port N.
 */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { configPath, runToExit, type GatewayChild } from "../../scripts/lib/gateway-child.ts";
import { freePort, within } from "../../scripts/lib/proc.ts";
import { ROOT, SOURCE_COMMAND as COMMAND, useChildGateways } from "../helpers/children.ts";

const gateways = useChildGateways("openclaw-e2e-verdicts-");
const TOKEN = "verdict-token-0123456789";

type Verdict = "valid" | "invalid";

interface Fixture {
  name: string;
  text: string;
  env?: Record<string, string>;
  verdict: Verdict;
  /** A line the started gateway must log. */
  logs?: string;
}

const FIXTURES: Fixture[] = [
  { name: "valid", text: JSON.stringify({ gateway: { mode: "local", auth: { mode: "token", token: TOKEN } } }), verdict: "valid" },
  {
    name: "${VAR}-substituted",
    text: JSON.stringify({ gateway: { mode: "local", bind: "${VERDICT_BIND}", auth: { mode: "token", token: "${VERDICT_TOKEN}" } } }),
    env: { VERDICT_BIND: "loopback", VERDICT_TOKEN: TOKEN },
    verdict: "valid",
  },
  {
    name: "JSON5 with comments",
    text: `// written by hand\n{\n  gateway: {\n    mode: 'local', /* the only mode that starts */\n    auth: { token: "${TOKEN}", },\n  },\n}\n`,
    verdict: "valid",
  },
  { name: "unknown key", text: JSON.stringify({ gateway: { mode: "local", prot: 18789 } }), verdict: "invalid" },
  { name: "wrong type", text: JSON.stringify({ gateway: { mode: "local", port: "18789" } }), verdict: "invalid" },
  { name: "unset variable (in an enum)", text: JSON.stringify({ gateway: { mode: "local", bind: "${VERDICT_UNSET_BIND}" } }), verdict: "invalid" },
  {
    name: "unset variable (in a secret: absent, never the literal text)",
    text: JSON.stringify({ gateway: { mode: "local", auth: { token: "${VERDICT_UNSET_TOKEN}" } } }),
    verdict: "valid",
    logs: "Gateway auth token was missing. Generated a runtime token for this startup",
  },
  { name: "unparseable", text: '{ "gateway": { "mode": "local", ', verdict: "invalid" },
];

function stateWith(text: string): string {
  const dir = gateways.tempDir();
  writeFileSync(configPath(dir), text, { mode: 0o600 });
  return dir;
}

async function cli(args: string[], stateDir: string, env: Record<string, string> = {}) {
  return runToExit({ command: COMMAND, args, cwd: ROOT, env: { OPENCLAW_STATE_DIR: stateDir, HOME: stateDir, ...env }, timeoutMs: 30_000 });
}

async function validateVerdict(f: Fixture): Promise<Verdict> {
  const r = await cli(["config", "validate", "--json"], stateWith(f.text), f.env);
  const out = JSON.parse(r.stdout);
  expect(r.exitCode).toBe(out.valid ? 0 : 1);
  return out.valid ? "valid" : "invalid";
}

async function doctorVerdict(f: Fixture): Promise<Verdict> {
  const r = await cli(["doctor", "--json"], stateWith(f.text), f.env);
  const out = JSON.parse(r.stdout) as { findings: Array<{ checkId: string; severity: string }> };
  const configErrors = out.findings.filter((x) => x.checkId.startsWith("config/") && x.severity === "error");
  return configErrors.length === 0 ? "valid" : "invalid";
}

/** Start it: listening means valid; exit 78 before listening means invalid. */
async function gatewayVerdict(f: Fixture): Promise<Verdict> {
  let child: GatewayChild | undefined;
  try {
    child = await gateways.spawn({ command: COMMAND, stateDir: stateWith(f.text), cwd: ROOT, env: { ...f.env } });
    const c = child;
    const first = await within(
      Promise.race([
        c.proc.exited.then((code) => ({ code })),
        // Output that ends without the line is the exit's to report.
        c.stdout.waitFor(/listening on ws:\/\//, 30_000).then(
          () => ({ code: undefined }),
          () => new Promise<never>(() => {}),
        ),
      ]),
      30_000,
      { code: null },
    );
    if (first.code === undefined) {
      if (f.logs) expect(c.output()).toContain(f.logs);
      return "valid";
    }
    expect(first.code).toBe(78);
    return "invalid";
  } finally {
    await child?.stop(2_000);
  }
}

describe("config validate, doctor and gateway reach the same verdict", () => {
  for (const f of FIXTURES) {
    test(f.name, async () => {
      const [validate, doctor, gateway] = await Promise.all([validateVerdict(f), doctorVerdict(f), gatewayVerdict(f)]);
      expect({ validate, doctor, gateway }).toEqual({ validate: f.verdict, doctor: f.verdict, gateway: f.verdict });
    });
  }
});

describe("a damaged config still lets operator commands reach the gateway by port", () => {
  test("gateway status --port N / OPENCLAW_GATEWAY_PORT=N with an unparseable file target N and say the file is damaged", async () => {
    const running = await gateways.start({ command: COMMAND, stateDir: stateWith(FIXTURES[0].text), cwd: ROOT });
    const broken = stateWith('{ "gateway": { "mode": "local", ');
    const otherPort = await freePort();
    for (const [args, env] of [
      [["gateway", "status", "--json", "--port", String(running.port), "--token", TOKEN], {}],
      [["gateway", "status", "--json", "--token", TOKEN], { OPENCLAW_GATEWAY_PORT: String(running.port) }],
    ] as const) {
      const r = await cli([...args], broken, { ...env });
      const report = JSON.parse(r.stdout);
      expect(report.gateway.port).toBe(running.port);
      expect(report.gateway.probeUrl).toBe(`ws://127.0.0.1:${running.port}`);
      expect(report.config.cli.valid).toBe(false);
      expect(report.config.cli.issues[0].path).toBe("<file>");
      expect(report.rpc.ok).toBe(true);
    }
    // Human output names the damage.
    const human = await cli(["gateway", "status", "--port", String(running.port), "--token", TOKEN], broken);
    expect(human.stdout).toContain(`port=${running.port} (cli)`);
    expect(human.stdout).toMatch(/Config \(cli\): .*openclaw\.json \(invalid\)/);
    // gateway health follows --port too (and a wrong port is not silently replaced by the default).
    const health = await cli(["gateway", "health", "--json", "--port", String(running.port), "--token", TOKEN], broken);
    expect(JSON.parse(health.stdout).ok).toBe(true);
    const elsewhere = await cli(["gateway", "health", "--json", "--port", String(otherPort), "--token", TOKEN], broken);
    expect(elsewhere.exitCode).toBe(1);
    expect(JSON.parse(elsewhere.stdout).error.message).toContain(`127.0.0.1:${otherPort}`);
  });
});

