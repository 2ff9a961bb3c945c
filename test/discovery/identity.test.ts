import { describe, expect, test } from "bun:test";
import { decideBonjour, detectContainer, type ContainerProbe } from "../../src/discovery/container.ts";
import {
  buildTxt,
  formatInstanceName,
  hostLabelFrom,
  machineDisplayName,
  parseTxt,
  renamedHost,
  renamedInstance,
  resolveCliPath,
  sshPortFromEnv,
  truncateUtf8,
  utf8Length,
} from "../../src/discovery/identity.ts";
import { canvasPortOf, timingFromEnv } from "../../src/discovery/index.ts";
import { expandIPv6, inSubnet, interfaceSignature, isTailnetIPv4, isTailnetIPv6, listMulticastInterfaces } from "../../src/discovery/interfaces.ts";

describe("instance and host names", () => {
  test("instance name: `<name> (OpenClaw)` unless it already says OpenClaw; one label of ≤ 63 bytes", () => {
    expect(formatInstanceName("vm")).toBe("vm (OpenClaw)");
    expect(formatInstanceName("my-openclaw-box")).toBe("my-openclaw-box");
    expect(formatInstanceName("OpenClaw")).toBe("OpenClaw");
    expect(formatInstanceName("a.b")).toBe("a-b (OpenClaw)");
    const long = formatInstanceName("ü".repeat(40));
    expect(utf8Length(long)).toBeLessThanOrEqual(63);
    expect(long.includes("\uFFFD")).toBe(false);
    expect(formatInstanceName("\u0001\u0002")).toBe("(OpenClaw)");
  });

  test("display name: the hostname without .local or a domain", () => {
    expect(machineDisplayName("vm")).toBe("vm");
    expect(machineDisplayName("Pi.local")).toBe("Pi");
    expect(machineDisplayName("box.example.com")).toBe("box");
    expect(machineDisplayName("")).toBe("openclaw");
  });

  test("host label: OPENCLAW_MDNS_HOSTNAME > a valid hostname label > openclaw", () => {
    expect(hostLabelFrom({}, "vm")).toBe("vm");
    expect(hostLabelFrom({}, "pi.local")).toBe("pi");
    expect(hostLabelFrom({ OPENCLAW_MDNS_HOSTNAME: "gw1.local" }, "vm")).toBe("gw1");
    expect(hostLabelFrom({ OPENCLAW_MDNS_HOSTNAME: "not valid!" }, "vm")).toBe("vm");
    expect(hostLabelFrom({ OPENCLAW_MDNS_HOSTNAME: "a.b" }, "vm")).toBe("vm");
    expect(hostLabelFrom({}, "_bad_")).toBe("openclaw");
  });

  test("conflict renames stay single labels", () => {
    expect(renamedInstance("vm (OpenClaw)", 1)).toBe("vm (OpenClaw)");
    expect(renamedInstance("vm (OpenClaw)", 2)).toBe("vm (OpenClaw) (2)");
    expect(utf8Length(renamedInstance("x".repeat(63), 12))).toBeLessThanOrEqual(63);
    expect(renamedHost("vm", 2)).toBe("vm-2");
    expect(renamedHost("a".repeat(63), 3).length).toBeLessThanOrEqual(63);
  });

  test("truncateUtf8 never splits a character", () => {
    expect(truncateUtf8("aéb", 2)).toBe("a");
    expect(truncateUtf8("abc", 10)).toBe("abc");
  });
});

describe("TXT keys", () => {
  const base = { instanceName: "vm (OpenClaw)", hostLabel: "vm", gatewayPort: 18789, canvasPort: 18789 };

  test("minimal mode: role, transport, displayName, lanHost, gatewayPort, canvasPort (tailnetDns when known)", () => {
    expect(buildTxt({ ...base, target: "mdns", mode: "minimal", sshPort: 2222, cliPath: "/usr/bin/openclaw" }).txt).toEqual([
      "role=gateway",
      "transport=gateway",
      "displayName=vm",
      "lanHost=vm.local",
      "gatewayPort=18789",
      "canvasPort=18789",
    ]);
    expect(buildTxt({ ...base, target: "mdns", mode: "minimal", tailnetDns: "vm.tail1.ts.net" }).txt).toContain("tailnetDns=vm.tail1.ts.net");
  });

  test("full mode adds sshPort (22 by default) and cliPath", () => {
    expect(buildTxt({ ...base, target: "mdns", mode: "full", cliPath: "/usr/bin/openclaw" }).txt.slice(-2)).toEqual(["sshPort=22", "cliPath=/usr/bin/openclaw"]);
    expect(buildTxt({ ...base, target: "mdns", mode: "full", sshPort: 2222 }).txt).toContain("sshPort=2222");
  });

  test("TLS keys only with TLS", () => {
    expect(buildTxt({ ...base, target: "mdns", mode: "minimal" }).txt.some((t) => t.startsWith("gatewayTls"))).toBe(false);
    const tls = buildTxt({ ...base, target: "mdns", mode: "minimal", tls: { sha256: "ab".repeat(32) } }).txt;
    expect(tls).toContain("gatewayTls=1");
    expect(tls).toContain(`gatewayTlsSha256=${"ab".repeat(32)}`);
    expect(buildTxt({ ...base, target: "mdns", mode: "minimal", tls: {} }).txt.filter((t) => t.startsWith("gatewayTls"))).toEqual(["gatewayTls=1"]);
  });

  test("no canvasPort when the canvas host is off", () => {
    expect(canvasPortOf({}, 18789)).toBe(18789);
    expect(canvasPortOf({ canvasHost: { enabled: false } }, 18789)).toBeUndefined();
    expect(buildTxt({ ...base, canvasPort: undefined, target: "mdns", mode: "minimal" }).txt.some((t) => t.startsWith("canvasPort"))).toBe(false);
  });

  test("wide-area: full displayName, no lanHost, sshPort only when set", () => {
    expect(buildTxt({ ...base, target: "wide-area", mode: "full", cliPath: "/x" }).txt).toEqual([
      "displayName=vm (OpenClaw)",
      "role=gateway",
      "transport=gateway",
      "gatewayPort=18789",
      "canvasPort=18789",
      "cliPath=/x",
    ]);
    expect(buildTxt({ ...base, target: "wide-area", mode: "full", sshPort: 2200 }).txt).toContain("sshPort=2200");
    expect(buildTxt({ ...base, target: "wide-area", mode: "minimal", sshPort: 2200, cliPath: "/x" }).txt.some((t) => /^(sshPort|cliPath)=/.test(t))).toBe(false);
  });

  test("entries over 255 bytes are left out and reported", () => {
    const r = buildTxt({ ...base, target: "mdns", mode: "full", cliPath: `/${"x".repeat(300)}` });
    expect(r.dropped).toEqual(["cliPath"]);
    expect(r.txt.some((t) => t.startsWith("cliPath="))).toBe(false);
  });

  test("parseTxt: first key wins (case-insensitive), values keep `=`, bare keys are empty", () => {
    expect(parseTxt(["a=1", "A=2", "b==x", "flag", "", new TextEncoder().encode("c=ü")])).toEqual({ a: "1", b: "=x", flag: "", c: "ü" });
  });

  test("env overrides: OPENCLAW_SSH_PORT (validated), OPENCLAW_CLI_PATH", () => {
    expect(sshPortFromEnv({ OPENCLAW_SSH_PORT: "2222" })).toEqual({ port: 2222 });
    expect(sshPortFromEnv({ OPENCLAW_SSH_PORT: "ssh" }).warning).toBe('ignoring OPENCLAW_SSH_PORT="ssh" (not a port number)');
    expect(sshPortFromEnv({ OPENCLAW_SSH_PORT: "70000" }).port).toBeUndefined();
    expect(sshPortFromEnv({})).toEqual({});
    expect(resolveCliPath({ OPENCLAW_CLI_PATH: "/opt/oc" }, { execPath: "/usr/bin/bun", argv: ["bun", "/src/main.ts"] }, false)).toBe("/opt/oc");
    expect(resolveCliPath({}, { execPath: "/usr/local/bin/openclaw", argv: ["bun", "/$bunfs/root/openclaw"] }, true)).toBe("/usr/local/bin/openclaw");
    expect(resolveCliPath({}, { execPath: "/usr/bin/bun", argv: ["bun", "/src/main.ts"] }, false)).toBe("/src/main.ts");
  });

  test("OPENCLAW_MDNS_INTERFACE_CHECK_MS: validated", () => {
    expect(timingFromEnv({})).toEqual({});
    expect(timingFromEnv({ OPENCLAW_MDNS_INTERFACE_CHECK_MS: "5000" })).toEqual({ timing: { checkIntervalMs: 5000 } });
    expect(timingFromEnv({ OPENCLAW_MDNS_INTERFACE_CHECK_MS: "10" }).warning).toBe('ignoring OPENCLAW_MDNS_INTERFACE_CHECK_MS="10" (use 1000 to 600000 ms)');
  });
});

describe("when the beacon runs", () => {
  const probe = (files: string[] = [], env: Record<string, string> = {}, cgroup?: string): ContainerProbe => ({
    env,
    exists: (p) => files.includes(p),
    readFile: (p) => (p === "/proc/1/cgroup" ? cgroup : undefined),
  });

  test("container detection: marker files, cgroup, Fly.io", () => {
    expect(detectContainer(probe())).toBeUndefined();
    expect(detectContainer(probe(["/.dockerenv"]))).toBe("/.dockerenv");
    expect(detectContainer(probe(["/run/.containerenv"]))).toBe("/run/.containerenv");
    expect(detectContainer(probe(["/var/run/.containerenv"]))).toBe("/var/run/.containerenv");
    expect(detectContainer(probe([], {}, "0::/kubepods/besteffort/pod1"))).toBe("/proc/1/cgroup");
    expect(detectContainer(probe([], {}, "0::/init.scope"))).toBeUndefined();
    expect(detectContainer(probe([], { FLY_MACHINE_ID: "x", FLY_APP_NAME: "y" }))).toBe("Fly.io machine");
    expect(detectContainer(probe([], { FLY_MACHINE_ID: "x" }))).toBeUndefined();
  });

  const decide = (env: Record<string, string>, container: string | undefined, mode: "off" | "minimal" | "full" = "minimal", pluginEnabled?: boolean) =>
    decideBonjour({ env, mode, pluginEnabled, container: () => container });

  test("OPENCLAW_DISABLE_BONJOUR: 1 disables, 0 forces on (even in a container), unset follows the host", () => {
    expect(decide({}, undefined).enabled).toBe(true);
    expect(decide({}, "/.dockerenv")).toMatchObject({ enabled: false });
    expect(decide({}, "/.dockerenv").reason).toMatch(/^container detected \(\/\.dockerenv\)/);
    for (const v of ["1", "true", "YES", "on"]) expect(decide({ OPENCLAW_DISABLE_BONJOUR: v }, undefined).enabled).toBe(false);
    for (const v of ["0", "false", "no", "Off"]) expect(decide({ OPENCLAW_DISABLE_BONJOUR: v }, "/.dockerenv").enabled).toBe(true);
    expect(decide({ OPENCLAW_DISABLE_BONJOUR: "" }, "/.dockerenv").enabled).toBe(false);
  });

  test("an unrecognised value is a warning and counts as unset", () => {
    const d = decide({ OPENCLAW_DISABLE_BONJOUR: "maybe" }, undefined);
    expect(d.enabled).toBe(true);
    expect(d.warning).toBe('ignoring OPENCLAW_DISABLE_BONJOUR="maybe" (use 1 to disable, 0 to force on)');
  });

  test("discovery.mdns.mode=off and plugins.entries.bonjour.enabled=false win over the env", () => {
    expect(decide({ OPENCLAW_DISABLE_BONJOUR: "0" }, undefined, "off")).toEqual({ enabled: false, reason: "discovery.mdns.mode=off" });
    expect(decide({ OPENCLAW_DISABLE_BONJOUR: "0" }, undefined, "full", false).enabled).toBe(false);
    expect(decide({}, undefined, "full", true).enabled).toBe(true);
  });
});

describe("interfaces", () => {
  const info = (address: string, family: "IPv4" | "IPv6", internal = false) =>
    ({ address, family, internal, netmask: family === "IPv4" ? "255.255.255.0" : "ffff:ffff:ffff:ffff::", mac: "00:00:00:00:00:00", cidr: null }) as any;

  test("only up, multicast-capable, non-loopback interfaces with IPv4", () => {
    const flags: Record<string, number> = { lo: 0x49, eth0: 0x1003, nomc: 0x3, down: 0x1002, tun0: 0x1091 };
    const list = listMulticastInterfaces({
      networkInterfaces: () => ({
        lo: [info("127.0.0.1", "IPv4", true)],
        eth0: [info("10.0.0.1", "IPv4"), info("fe80::1%eth0", "IPv6"), info("fd00::1", "IPv6")],
        nomc: [info("10.1.0.1", "IPv4")],
        down: [info("10.2.0.1", "IPv4")],
        v6only: [info("fd00::9", "IPv6")],
      }),
      flags: (n) => flags[n] ?? 0x1003,
    });
    expect(list).toEqual([{ name: "eth0", ipv4: "10.0.0.1", netmask: "255.255.255.0", ipv6: ["fe80::1", "fd00::1"] }]);
    expect(interfaceSignature(list)).toBe("eth0=10.0.0.1/255.255.255.0+fe80::1,fd00::1");
  });

  test("without kernel flags (non-Linux) internal interfaces are skipped", () => {
    const list = listMulticastInterfaces({
      networkInterfaces: () => ({ lo0: [info("127.0.0.1", "IPv4", true)], en0: [info("192.168.1.5", "IPv4")] }),
      flags: () => undefined,
    });
    expect(list.map((i) => i.name)).toEqual(["en0"]);
  });

  test("address helpers", () => {
    expect(inSubnet("10.0.0.77", { ipv4: "10.0.0.1", netmask: "255.255.255.0" })).toBe(true);
    expect(inSubnet("10.0.1.77", { ipv4: "10.0.0.1", netmask: "255.255.255.0" })).toBe(false);
    expect(inSubnet("garbage", { ipv4: "10.0.0.1", netmask: "255.255.255.0" })).toBe(false);
    expect(isTailnetIPv4("100.64.0.1")).toBe(true);
    expect(isTailnetIPv4("100.127.255.254")).toBe(true);
    expect(isTailnetIPv4("100.128.0.1")).toBe(false);
    expect(isTailnetIPv4("100.63.0.1")).toBe(false);
    expect(isTailnetIPv6("fd7a:115c:a1e0::1")).toBe(true);
    expect(isTailnetIPv6("fd7a:115c:a1e1::1")).toBe(false);
    expect(expandIPv6("fe80::1")).toBe("fe80:0000:0000:0000:0000:0000:0000:0001");
    expect(expandIPv6("::ffff:1.2.3.4")).toBe("0000:0000:0000:0000:0000:ffff:0102:0304");
    expect(expandIPv6("1::2::3")).toBeUndefined();
    expect(expandIPv6("zz::1")).toBeUndefined();
  });
});
