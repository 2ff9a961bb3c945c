/**
 * Windows Task Scheduler: task XML validated against the schema's required structure
 * (`xmllint --schema test/fixture/task-scheduler.xsd`), the gateway script and launchers, and the
 * lifecycle against a fake schtasks, including the Startup-folder fallback.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { resolvePaths } from "../../src/config/paths.ts";
import { prepareInstall, runLifecycle } from "../../src/service/index.ts";
import { cmdArg, gatewayTaskNames, parseSchtasksList, readGatewayCmd, renderGatewayCmd, renderHiddenLauncher, renderTaskXml, utf16le } from "../../src/service/schtasks.ts";
import { ServiceSpecError } from "../../src/service/spec.ts";
import { schtasksHost, useTempDirs } from "./fakes.ts";
import { makeSpec, skipReason } from "./helpers.ts";

const tmp = useTempDirs();
const XSD = resolve(import.meta.dir, "../fixture/task-scheduler.xsd");

describe("task XML", () => {
  const xmllintSkip = skipReason("xmllint", "libxml2-utils");

  function validate(bytes: Uint8Array): { code: number; output: string } {
    const file = join(tmp(), "task.xml");
    writeFileSync(file, bytes);
    const r = Bun.spawnSync(["xmllint", "--noout", "--schema", XSD, file], { stdout: "pipe", stderr: "pipe" });
    return { code: r.exitCode, output: `${r.stdout}${r.stderr}`.trim() };
  }

  test.skipIf(Boolean(xmllintSkip))(`generated task XML (UTF-16) validates against the task schema${xmllintSkip ? ` (skipped: ${xmllintSkip})` : ""}`, () => {
    const { host } = schtasksHost(tmp());
    for (const spec of [makeSpec(host, { kind: "schtasks" }), makeSpec(host, { kind: "schtasks", profile: "rescue", port: 19789 })]) {
      const xml = renderTaskXml(spec, { account: "PC\\me & you", launcher: "C:\\Users\\me\\.openclaw\\gateway-hidden.vbs", systemRoot: "C:\\Windows" });
      const r = validate(utf16le(xml));
      expect(r).toEqual({ code: 0, output: expect.stringContaining("validates") });
    }
  });

  test.skipIf(Boolean(xmllintSkip))("the schema check is real: missing Actions, a bad enum, a zero restart count and a missing Command fail", () => {
    const { host } = schtasksHost(tmp());
    const xml = renderTaskXml(makeSpec(host, { kind: "schtasks" }), { account: "PC\\me", launcher: "C:\\x.vbs" });
    expect(validate(utf16le(xml)).code).toBe(0);
    const noActions = xml.replace(/<Actions[\s\S]*<\/Actions>\r\n/, "");
    expect(validate(utf16le(noActions)).code).not.toBe(0);
    expect(validate(utf16le(xml.replace("IgnoreNew", "Sometimes"))).code).not.toBe(0);
    expect(validate(utf16le(xml.replace("<Count>3</Count>", "<Count>0</Count>"))).code).not.toBe(0);
    expect(validate(utf16le(xml.replace(/<Command>[^<]*<\/Command>/, ""))).code).not.toBe(0);
  });

  test("the task: logon trigger for this user, least privilege, restart on failure, hidden launcher", () => {
    const { host } = schtasksHost(tmp());
    const xml = renderTaskXml(makeSpec(host, { kind: "schtasks", profile: "work" }), { account: "PC\\me", launcher: "C:\\s\\gateway-hidden.vbs", systemRoot: "C:\\Windows" });
    expect(xml).toContain("<URI>\\OpenClaw Gateway (work)</URI>");
    expect(xml).toContain("<LogonType>InteractiveToken</LogonType>");
    expect(xml).toContain("<RunLevel>LeastPrivilege</RunLevel>");
    expect(xml).toContain("<Command>C:\\Windows\\System32\\wscript.exe</Command>");
    expect(xml).toContain('<Arguments>//B //NoLogo "C:\\s\\gateway-hidden.vbs"</Arguments>');
    expect(xml).toContain("<RestartOnFailure>\r\n      <Interval>PT1M</Interval>\r\n      <Count>3</Count>");
    const bytes = utf16le(xml);
    expect([bytes[0], bytes[1]]).toEqual([0xff, 0xfe]);
    expect(new TextDecoder("utf-16le").decode(bytes.subarray(2))).toBe(xml);
  });
});

describe("gateway.cmd and launchers", () => {
  test("script: env as set lines, secrets via the env script, quoted program, CRLF; read back", () => {
    const { host } = schtasksHost(tmp());
    const spec = makeSpec(host, { kind: "schtasks", secrets: [["OPENCLAW_GATEWAY_TOKEN", "t%k"]] });
    const text = renderGatewayCmd(spec, "C:\\s\\gateway.env.cmd");
    expect(text).toContain('"C:\\Program Files\\OpenClaw\\openclaw.exe" gateway --port 18789 < NUL\r\n');
    expect(text).toContain('if exist C:\\s\\gateway.env.cmd call C:\\s\\gateway.env.cmd\r\n');
    expect(text).not.toContain("t%k");
    expect(text.split("\r\n").every((l, i, a) => i === a.length - 1 || !l.includes("\n"))).toBe(true);
    const def = readGatewayCmd("gateway.cmd", text);
    expect(def.programArguments).toEqual(["C:\\Program Files\\OpenClaw\\openclaw.exe", "gateway", "--port", "18789"]);
    expect(def.port).toBe(18789);
    expect(def.environment.OPENCLAW_WINDOWS_TASK_NAME).toBe("OpenClaw Gateway");
    expect(def.envFile).toBe("C:\\s\\gateway.env.cmd");
    expect(cmdArg("50%")).toBe("50%%");
    expect(() => cmdArg('a"b')).toThrow(ServiceSpecError);
  });

  test("the hidden launcher waits for the gateway and returns its exit code; the Startup launcher does not wait", () => {
    const waiting = renderHiddenLauncher("C:\\s\\gateway.cmd", true);
    expect(waiting).toContain('rc = shell.Run("cmd.exe /d /c " & Chr(34) & "C:\\s\\gateway.cmd" & Chr(34), 0, True)');
    expect(waiting).toContain("WScript.Quit rc");
    expect(renderHiddenLauncher("C:\\s\\gateway.cmd", false)).toContain(", 0, False)");
  });

  test("schtasks output parsing", () => {
    expect(parseSchtasksList("HostName: PC\r\nTaskName: \\OpenClaw Gateway\r\nStatus: Running\r\nLast Result: 0\r\n")).toMatchObject({ TaskName: "\\OpenClaw Gateway", Status: "Running", "Last Result": "0" });
    expect(gatewayTaskNames("TaskName: \\OpenClaw Gateway\nTaskName: \\OpenClaw Gateway (rescue)\nTaskName: \\Other\n")).toEqual(["OpenClaw Gateway", "OpenClaw Gateway (rescue)"]);
  });
});

describe("SchtasksManager lifecycle (fake schtasks)", () => {
  test("install creates the task from XML, runs it and verifies the port; restart/stop/start; uninstall cleans up", async () => {
    const { host, schtasks } = schtasksHost(tmp(), { env: { OPENCLAW_GATEWAY_TOKEN: "tok-0123456789abcdef" } });
    const paths = resolvePaths({ env: host.env });
    const prepared = await prepareInstall(host, { paths });
    const out = await prepared.manager.install(prepared.spec, {});
    expect(out.ok).toBe(true);
    expect(out.lines).toContain("Installed Scheduled Task: OpenClaw Gateway");
    expect(out.lines.at(-1)).toMatch(/^Started the gateway: running \(pid \d+\), listening on port 18789\.$/);
    expect(readFileSync(join(paths.stateDir, "gateway.env.cmd"), "utf8")).toContain('set "OPENCLAW_GATEWAY_TOKEN=tok-0123456789abcdef"');
    expect(readFileSync(join(paths.stateDir, "gateway.cmd"), "utf8")).not.toContain("tok-0123456789abcdef");
    expect(schtasks.tasks.has("OpenClaw Gateway")).toBe(true);

    const req = { profile: undefined, stateDir: paths.stateDir };
    const restarted = await runLifecycle(host, req, "restart");
    expect(restarted.ok).toBe(true);
    expect(restarted.lines[0]).toMatch(/^Restarted Scheduled Task: OpenClaw Gateway \(pid \d+ → \d+, port 18789\)\.$/);
    const stopped = await runLifecycle(host, req, "stop", { disable: true });
    expect(stopped.lines).toEqual(["Disabled Scheduled Task OpenClaw Gateway: it will not start at logon until openclaw gateway start.", "Stopped Scheduled Task: OpenClaw Gateway (port 18789 closed)."]);
    const started = await runLifecycle(host, req, "start");
    expect(started.ok).toBe(true);
    expect(started.lines[0]).toBe("Enabled Scheduled Task OpenClaw Gateway.");

    const removed = await runLifecycle(host, req, "uninstall");
    expect(removed.ok).toBe(true);
    expect(schtasks.tasks.size).toBe(0);
    for (const f of ["gateway.cmd", "gateway.env.cmd", "gateway-hidden.vbs", "gateway-task.xml"]) expect(existsSync(join(paths.stateDir, f))).toBe(false);
    expect(host.openPorts.size).toBe(0);
  });

  test("task creation denied: a Startup-folder launcher runs the same script, no admin needed", async () => {
    const { host, schtasks } = schtasksHost(tmp());
    schtasks.deny = true;
    const paths = resolvePaths({ env: host.env });
    const prepared = await prepareInstall(host, { paths });
    const out = await prepared.manager.install(prepared.spec, {});
    expect(out.ok).toBe(true);
    expect(out.warnings[0]).toBe("Scheduled Task creation was denied (ERROR: Access is denied.); using a Startup-folder launcher instead.");
    const launcher = join(host.dirs.startupFolder, "OpenClaw Gateway.vbs");
    expect(readFileSync(launcher, "utf8")).toContain(join(paths.stateDir, "gateway.cmd"));
    expect(out.state?.label).toBe("Startup-folder login item");
    const stopped = await runLifecycle(host, { profile: undefined, stateDir: paths.stateDir }, "stop");
    expect(stopped.ok).toBe(true);
    const removed = await runLifecycle(host, { profile: undefined, stateDir: paths.stateDir }, "uninstall");
    expect(removed.ok).toBe(true);
    expect(existsSync(launcher)).toBe(false);
  });
});
