/**
 * Install preparation (port, environment, secrets, config edits, refusals), the --deep scan
 * and the status helpers, with real files and a fake service manager.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { resolvePaths } from "../../src/config/paths.ts";
import { collectSecrets, configEnvReferences, safeEnvironment } from "../../src/service/environment.ts";
import { compareVersions, newerConfigRefusal } from "../../src/service/guard.ts";
import { InstallBlocked, prepareInstall, runLifecycle } from "../../src/service/index.ts";
import { renderExtraServices, scanGatewayServices, unitLooksLikeGateway } from "../../src/service/scan.ts";
import { serviceProgram } from "../../src/service/spec.ts";
import { gatewayServiceRow, serviceConditionLines, serviceLabel } from "../../src/cli/status.ts";
import { redactEnvText, renderPlan } from "../../src/cli/service.ts";
import { launchdHost, systemdHost, useTempDirs } from "./fakes.ts";

const tmp = useTempDirs();

describe("program and environment", () => {
  test("the compiled binary runs itself; a checkout runs Bun on src/main.ts by absolute path", () => {
    expect(serviceProgram("/usr/local/bin/openclaw", "/$bunfs/root/openclaw")).toEqual(["/usr/local/bin/openclaw"]);
    expect(serviceProgram("C:\\oc\\openclaw.exe", "B:\\~BUN\\root\\openclaw.exe")).toEqual(["C:\\oc\\openclaw.exe"]);
    expect(serviceProgram("/usr/bin/bun", "/home/pi/openclaw-bun/src/main.ts")).toEqual(["/usr/bin/bun", "/home/pi/openclaw-bun/src/main.ts"]);
  });

  test("config references: ${VAR} strings and env SecretRefs; $${X} is a literal", () => {
    const refs = configEnvReferences({
      models: { providers: { openai: { apiKey: "${OPENAI_API_KEY}" }, x: { apiKey: { source: "env", id: "X_KEY" } } } },
      literal: "$${NOT_A_REF}",
      list: ["pre-${IN_LIST}-post"],
    });
    expect([...refs].sort()).toEqual(["IN_LIST", "OPENAI_API_KEY", "X_KEY"]);
  });

  test("secrets: --token beats the shell; referenced variables come from the shell; missing ones are named", () => {
    const r = collectSecrets(
      { OPENCLAW_GATEWAY_TOKEN: "shell", OPENAI_API_KEY: "sk-1", HOME: "/h", OPENCLAW_STATE_DIR: "/s" },
      { token: "flag", fileConfig: { a: "${OPENAI_API_KEY}", b: "${MISSING_ONE}", c: "${HOME}", d: "${OPENCLAW_STATE_DIR}" } },
    );
    expect(r.secrets).toEqual([
      ["OPENAI_API_KEY", "sk-1"],
      ["OPENCLAW_GATEWAY_TOKEN", "flag"],
    ]);
    expect(r.missing).toEqual(["MISSING_ONE"]);
    expect(safeEnvironment({ OPENCLAW_GATEWAY_TOKEN: "x", OPENAI_API_KEY: "y", OPENCLAW_STATE_DIR: "/s" })).toEqual({ OPENCLAW_STATE_DIR: "/s" });
  });

  test("calendar versions and the newer-config guard", () => {
    expect(compareVersions("2026.9.6", "2026.10.1")).toBe(-1);
    expect(compareVersions("2026.10.1", "2026.9.6")).toBe(1);
    expect(compareVersions("2026.9.6-beta.1", "2026.9.6")).toBe(-1);
    expect(newerConfigRefusal("2026.9.6", "start the gateway service", {})).toBeUndefined();
    expect(newerConfigRefusal("2027.1.1", "start the gateway service", {})?.[0]).toBe(
      "Refusing to start the gateway service because this OpenClaw binary (2026.9.6) is older than the config last written by OpenClaw 2027.1.1.",
    );
    expect(newerConfigRefusal("2027.1.1", "x", { OPENCLAW_ALLOW_OLDER_BINARY_DESTRUCTIVE_ACTIONS: "1" })).toBeUndefined();
  });
});

describe("prepareInstall", () => {
  test("--port is recorded in the unit and in the config, so every client finds the gateway", async () => {
    const { host } = systemdHost(tmp());
    const paths = resolvePaths({ env: host.env });
    const p = await prepareInstall(host, { paths, port: 18900 });
    expect(p.spec.programArguments.slice(-3)).toEqual(["gateway", "--port", "18900"]);
    expect(p.notes).toEqual([`Created the config with gateway.port=18900 in ${paths.configPath}.`]);
    const cfg = JSON.parse(readFileSync(paths.configPath, "utf8"));
    expect(cfg.gateway).toMatchObject({ mode: "local", port: 18900, auth: { mode: "token" } });
    expect(cfg.gateway.auth.token).toHaveLength(43);
  });

  test("port precedence: --port > OPENCLAW_GATEWAY_PORT > gateway.port > profile default", async () => {
    const { host } = systemdHost(tmp(), { env: { OPENCLAW_GATEWAY_PORT: "18950" } });
    const paths = resolvePaths({ env: host.env });
    mkdirSync(paths.stateDir, { recursive: true });
    writeFileSync(paths.configPath, JSON.stringify({ gateway: { mode: "local", port: 18960 } }));
    expect((await prepareInstall(host, { paths, dryRun: true })).spec.port).toBe(18950);
    delete host.env.OPENCLAW_GATEWAY_PORT;
    expect((await prepareInstall(host, { paths, dryRun: true })).spec.port).toBe(18960);
    expect((await prepareInstall(host, { paths, dryRun: true, port: 18970 })).spec.port).toBe(18970);
  });

  test("a config without gateway.mode gets mode=local, keeping ${VAR} references as written", async () => {
    const { host } = systemdHost(tmp(), { env: { OPENAI_API_KEY: "sk-secret" } });
    const paths = resolvePaths({ env: host.env });
    mkdirSync(paths.stateDir, { recursive: true });
    writeFileSync(paths.configPath, JSON.stringify({ models: { providers: { openai: { apiKey: "${OPENAI_API_KEY}" } } } }));
    const p = await prepareInstall(host, { paths });
    expect(p.notes[0]).toBe(`No gateway.mode found. Set gateway.mode=local for managed gateway install (${paths.configPath}).`);
    const text = readFileSync(paths.configPath, "utf8");
    expect(text).toContain("${OPENAI_API_KEY}");
    expect(text).not.toContain("sk-secret");
    // The referenced secret goes to the env file instead.
    expect(p.spec.secrets).toEqual([["OPENAI_API_KEY", "sk-secret"]]);
  });

  test("--print (dry run) writes nothing", async () => {
    const { host } = systemdHost(tmp());
    const paths = resolvePaths({ env: host.env });
    mkdirSync(paths.stateDir, { recursive: true });
    writeFileSync(paths.configPath, "{}");
    const p = await prepareInstall(host, { paths, dryRun: true, port: 18999 });
    expect(p.notes).toEqual([`Would set gateway.mode=local in ${paths.configPath} (no gateway.mode found).`, `Would set gateway.port=18999 in ${paths.configPath}.`]);
    expect(readFileSync(paths.configPath, "utf8")).toBe("{}");
    // Only read-only questions were asked of systemd.
    expect(host.calls.filter((c) => !["show", "show-environment"].includes(c[2]))).toEqual([]);
  });

  test("refusals: invalid config, remote mode, external supervisor, --system elsewhere, newer config with --force", async () => {
    const { host } = systemdHost(tmp());
    const paths = resolvePaths({ env: host.env });
    mkdirSync(paths.stateDir, { recursive: true });
    writeFileSync(paths.configPath, '{ gateway: { port: "x" } }');
    const invalid = await prepareInstall(host, { paths }).catch((e) => e);
    expect(invalid).toBeInstanceOf(InstallBlocked);
    expect(invalid.lines).toEqual([`Gateway install blocked: invalid config at ${paths.configPath}.`, "  × gateway.port: Invalid input: expected number, received string", "Fix it (openclaw doctor shows how), then run openclaw gateway install again."]);
    writeFileSync(paths.configPath, '{ gateway: { mode: "remote" } }');
    expect((await prepareInstall(host, { paths }).catch((e) => e)).result).toBe("remote-mode");
    writeFileSync(paths.configPath, '{ gateway: { mode: "local" }, meta: { lastTouchedVersion: "2099.1.1" } }');
    expect((await prepareInstall(host, { paths, force: true }).catch((e) => e)).result).toBe("newer-config");
    host.env.OPENCLAW_SUPERVISOR_MODE = "external";
    expect((await prepareInstall(host, { paths }).catch((e) => e)).lines[0]).toBe(
      "OpenClaw gateway lifecycle is managed by an external supervisor (OPENCLAW_SUPERVISOR_MODE=external). Use that supervisor to install the gateway.",
    );
    const mac = launchdHost(tmp()).host;
    expect((await prepareInstall(mac, { paths: resolvePaths({ env: mac.env }), system: true }).catch((e) => e)).lines[0]).toBe("Gateway install blocked: --system is only available with systemd (Linux).");
  });

  test("lifecycle refuses when the service's config was written by a newer OpenClaw", async () => {
    const { host } = systemdHost(tmp());
    const paths = resolvePaths({ env: host.env });
    mkdirSync(paths.stateDir, { recursive: true });
    writeFileSync(paths.configPath, JSON.stringify({ gateway: { mode: "local" } }));
    const p = await prepareInstall(host, { paths });
    await p.manager.install(p.spec, {});
    const cfg = JSON.parse(readFileSync(paths.configPath, "utf8"));
    writeFileSync(paths.configPath, JSON.stringify({ ...cfg, meta: { lastTouchedVersion: "2099.1.1" } }));
    for (const action of ["start", "stop", "restart", "uninstall"] as const) {
      const out = await runLifecycle(host, { profile: undefined, stateDir: paths.stateDir }, action);
      expect({ action, ok: out.ok, result: out.result }).toEqual({ action, ok: false, result: "newer-config" });
    }
  });
});

describe("--deep scan", () => {
  test("finds gateway-like units by marker, name or command; excludes our own; gives hints", async () => {
    const { host } = systemdHost(tmp());
    const user = host.dirs.systemdUser;
    const sys = host.dirs.systemdSystemSearch[1];
    mkdirSync(user, { recursive: true });
    mkdirSync(sys, { recursive: true });
    writeFileSync(join(user, "openclaw-gateway.service"), "[Service]\nExecStart=/usr/local/bin/openclaw gateway\n");
    writeFileSync(join(user, "openclaw-gateway-work.service"), `[Service]\nExecStart=${process.execPath} gateway --port 41984\nEnvironment=OPENCLAW_PROFILE=work\n`);
    writeFileSync(join(user, "my-bot.service"), "[Service]\nExecStart=/opt/x/run\nEnvironment=OPENCLAW_SERVICE_MARKER=openclaw\nEnvironment=OPENCLAW_SERVICE_KIND=gateway\n");
    writeFileSync(join(user, "clawdbot-gateway.service.bak"), "[Service]\nExecStart=/usr/bin/clawdbot gateway\n");
    writeFileSync(join(user, "other.service"), "[Service]\nExecStart=/usr/bin/true\n");
    writeFileSync(join(sys, "hand-made.service"), "[Service]\nExecStart=/srv/openclaw/openclaw gateway --port 8080\n");
    const own = { name: "openclaw-gateway.service", scope: "user" as const };
    const userOnly = await scanGatewayServices(host, own, { deep: false });
    expect(userOnly.map((s) => s.label).sort()).toEqual(["clawdbot-gateway.service.bak", "my-bot.service", "openclaw-gateway-work.service"]);
    const deep = await scanGatewayServices(host, own, { deep: true });
    const hand = deep.find((s) => s.label === "hand-made.service")!;
    expect(hand).toMatchObject({ scope: "system", port: 8080, stale: true });
    expect(hand.hints).toEqual([
      "Inspection hint: systemctl --system status -- hand-made.service",
      "Inspection hint: systemctl --system cat -- hand-made.service",
      `Cleanup hint: sudo systemctl --system disable --now hand-made.service && sudo rm ${join(sys, "hand-made.service")} && sudo systemctl --system daemon-reload`,
    ]);
    expect(deep.find((s) => s.label === "my-bot.service")?.marker).toBe("openclaw");
    expect(deep.find((s) => s.label === "clawdbot-gateway.service.bak")?.legacy).toBe(true);
    const lines = renderExtraServices(deep);
    expect(lines[0]).toBe("Other gateway-like services detected (best effort):");
    expect(lines).toContain(`- openclaw-gateway-work.service (user, unit: ${join(user, "openclaw-gateway-work.service")}, profile work, port 41984)`);
    expect(renderExtraServices([])).toEqual(["Other gateway-like services: none found"]);
    expect(unitLooksLikeGateway("x.service", "", ["/usr/bin/node", "/opt/openclaw/dist/index.js", "gateway"]).match).toBe(true);
  });

  test("macOS: LaunchAgents and, with --deep, LaunchDaemons", async () => {
    const { host } = launchdHost(tmp());
    mkdirSync(host.dirs.launchAgents, { recursive: true });
    mkdirSync(host.dirs.launchDaemons, { recursive: true });
    const plist = (label: string) => `<?xml version="1.0"?><plist version="1.0"><dict><key>Label</key><string>${label}</string><key>ProgramArguments</key><array><string>/usr/local/bin/openclaw</string><string>gateway</string></array></dict></plist>`;
    writeFileSync(join(host.dirs.launchAgents, "ai.openclaw.work.plist"), plist("ai.openclaw.work"));
    writeFileSync(join(host.dirs.launchDaemons, "ai.openclaw.gateway.plist"), plist("ai.openclaw.gateway"));
    const own = { name: "ai.openclaw.gateway", scope: "user" as const, path: join(host.dirs.launchAgents, "ai.openclaw.gateway.plist") };
    expect((await scanGatewayServices(host, own, { deep: false })).map((s) => s.label)).toEqual(["ai.openclaw.work"]);
    const deep = await scanGatewayServices(host, own, { deep: true });
    const daemon = deep.find((s) => s.scope === "system")!;
    expect(daemon.hints).toEqual(["Cleanup hint: sudo launchctl bootout system/ai.openclaw.gateway", `Cleanup hint: sudo rm ${join(host.dirs.launchDaemons, "ai.openclaw.gateway.plist")}`]);
  });
});

describe("status helpers", () => {
  test("service label, conditional lines and the status row", async () => {
    const { host, systemd } = systemdHost(tmp());
    const paths = resolvePaths({ env: host.env });
    const p = await prepareInstall(host, { paths });
    await p.manager.install(p.spec, {});
    let state = await p.manager.inspect();
    expect(serviceLabel({ host, state })).toBe("systemd (enabled)");
    expect(gatewayServiceRow({ host, state }, state.runtime)).toMatch(/^systemd installed · enabled · running \(pid \d+\)$/);
    const u = systemd.units.user.get("openclaw-gateway.service")!;
    u.active = "failed";
    u.pid = 0;
    state = await p.manager.inspect();
    expect(serviceConditionLines({ host, state, issues: [], extra: [] }, false, 18789)).toEqual([
      "Service is loaded but not running (likely exited immediately).",
      "Logs: journalctl --user -u openclaw-gateway.service -n 200 --no-pager",
    ]);
    expect(
      serviceConditionLines({ host, state, issues: [{ code: "gateway-port-mismatch", level: "warn", message: "Gateway service port does not match current gateway config (service 18789, config 1)." }], extra: [] }, false, 18789).slice(2),
    ).toEqual([
      "Service config looks out of date or non-standard.",
      "Service config issue: Gateway service port does not match current gateway config (service 18789, config 1).",
      "Recommendation: run openclaw gateway install --force (or openclaw doctor for the details).",
    ]);
    const other = systemdHost(tmp());
    const none = await (await prepareInstall(other.host, { paths: resolvePaths({ env: other.host.env }), dryRun: true })).manager.inspect();
    expect(serviceLabel({ host: other.host, state: none })).toBe("systemd (disabled)");
    expect(serviceConditionLines({ host: other.host, state: none, issues: [], extra: [] }, false, 18789)).toEqual(["Service unit not found.", "Run: openclaw gateway install"]);
    other.host.systemdBooted = false;
    expect(serviceLabel({ host: other.host, state: none })).toBe("no supported service manager detected");
  });

  test("--print output: paths, modes, secret values hidden, commands", async () => {
    const { host } = systemdHost(tmp());
    const p = await prepareInstall(host, { paths: resolvePaths({ env: host.env }), dryRun: true, token: "very-secret-token-value" });
    const text = renderPlan(p.plan, ["# header"]);
    expect(text).toContain(`# systemd user unit: ${join(host.dirs.systemdUser, "openclaw-gateway.service")} (mode 0600)`);
    expect(text).toContain("OPENCLAW_GATEWAY_TOKEN=<redacted, 23 chars>");
    expect(text).not.toContain("very-secret-token-value");
    expect(text).toContain("#   systemctl --user restart openclaw-gateway.service");
    expect(redactEnvText(`export A='x y'\nset "B=zz"\n# comment`)).toBe(`export A=<redacted, 3 chars>\nset "B=<redacted, 2 chars>"\n# comment`);
  });
});
