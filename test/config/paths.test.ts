import { describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import {
  DEFAULT_PORT,
  DEV_PORT,
  ProfileError,
  expandHome,
  fnv1a32,
  normalizeProfile,
  parseEnvPort,
  profileDefaultPort,
  profileFromFlags,
  resolveHome,
  resolvePaths,
} from "../../src/config/paths.ts";
import { useTempDirs } from "./helpers.ts";

const tempDir = useTempDirs("openclaw-paths-test-");

/** A temp home with these directories already in it. */
function homeWith(...dirs: string[]): string {
  const home = tempDir();
  for (const dir of dirs) mkdirSync(join(home, dir));
  return home;
}

describe("resolveHome", () => {
  test("OPENCLAW_HOME wins over HOME and USERPROFILE", () => {
    expect(resolveHome({ OPENCLAW_HOME: "/srv/claw", HOME: "/home/op", USERPROFILE: "C:\\Users\\op" })).toBe("/srv/claw");
  });

  test("OPENCLAW_HOME is tilde-expanded against HOME", () => {
    expect(resolveHome({ OPENCLAW_HOME: "~/claw", HOME: "/home/op" })).toBe("/home/op/claw");
    expect(resolveHome({ OPENCLAW_HOME: "~", HOME: "/home/op" })).toBe("/home/op");
  });

  test("a relative OPENCLAW_HOME is made absolute", () => {
    expect(resolveHome({ OPENCLAW_HOME: "rel/claw", HOME: "/home/op" })).toBe(resolve("rel/claw"));
  });

  test("blank OPENCLAW_HOME is ignored", () => {
    expect(resolveHome({ OPENCLAW_HOME: "   ", HOME: "/home/op" })).toBe("/home/op");
    expect(resolveHome({ OPENCLAW_HOME: "", HOME: "/home/op" })).toBe("/home/op");
  });

  test("HOME beats USERPROFILE, USERPROFILE beats os.homedir()", () => {
    expect(resolveHome({ HOME: "/home/op", USERPROFILE: "/users/op" })).toBe("/home/op");
    expect(resolveHome({ USERPROFILE: "/users/op" })).toBe("/users/op");
    expect(resolveHome({})).toBe(homedir());
  });
});

describe("expandHome", () => {
  test("expands ~ and ~/ only", () => {
    expect(expandHome("~", "/h")).toBe("/h");
    expect(expandHome("~/a/b", "/h")).toBe("/h/a/b");
    expect(expandHome("~other/a", "/h")).toBe("~other/a");
    expect(expandHome("/abs/~/x", "/h")).toBe("/abs/~/x");
  });
});

describe("resolvePaths", () => {
  test("default profile: ~/.openclaw/openclaw.json and port 18789", () => {
    const home = tempDir();
    const p = resolvePaths({ env: { HOME: home } });
    expect(p).toEqual({
      home,
      profile: undefined,
      stateDir: join(home, ".openclaw"),
      configPath: join(home, ".openclaw", "openclaw.json"),
      configPathFromEnv: false,
      defaultPort: 18789,
    });
    expect(DEFAULT_PORT).toBe(18789);
  });

  test("OPENCLAW_HOME moves the state dir", () => {
    const home = tempDir();
    const claw = join(home, "claw-home");
    const p = resolvePaths({ env: { HOME: home, OPENCLAW_HOME: claw } });
    expect(p.home).toBe(claw);
    expect(p.stateDir).toBe(join(claw, ".openclaw"));
    expect(p.configPath).toBe(join(claw, ".openclaw", "openclaw.json"));
  });

  test("OPENCLAW_STATE_DIR overrides the state dir and the config follows it", () => {
    const home = tempDir();
    const state = join(home, "custom-state");
    const p = resolvePaths({ env: { HOME: home, OPENCLAW_STATE_DIR: state } });
    expect(p.stateDir).toBe(state);
    expect(p.configPath).toBe(join(state, "openclaw.json"));
    expect(p.configPathFromEnv).toBe(false);
  });

  test("OPENCLAW_STATE_DIR is expanded relative to the resolved home", () => {
    expect(resolvePaths({ env: { HOME: "/home/op", OPENCLAW_STATE_DIR: "~/st" } }).stateDir).toBe("/home/op/st");
    expect(resolvePaths({ env: { HOME: "/home/op", OPENCLAW_HOME: "/srv/c", OPENCLAW_STATE_DIR: "~/st" } }).stateDir).toBe(
      "/srv/c/st",
    );
  });

  test("OPENCLAW_STATE_DIR beats a --profile state dir", () => {
    const p = resolvePaths({ profile: "work", env: { HOME: "/home/op", OPENCLAW_STATE_DIR: "/var/lib/oc" } });
    expect(p.stateDir).toBe("/var/lib/oc");
    expect(p.configPath).toBe("/var/lib/oc/openclaw.json");
    // the profile still picks the port
    expect(p.defaultPort).toBe(41984);
  });

  test("OPENCLAW_CONFIG_PATH picks the file without moving the state dir", () => {
    const home = tempDir();
    const cfg = join(home, "etc", "gateway.json5");
    const p = resolvePaths({ env: { HOME: home, OPENCLAW_CONFIG_PATH: cfg } });
    expect(p.configPath).toBe(cfg);
    expect(p.configPathFromEnv).toBe(true);
    expect(p.stateDir).toBe(join(home, ".openclaw"));
  });

  test("OPENCLAW_CONFIG_PATH with ~ is home-expanded; blank is ignored", () => {
    const p = resolvePaths({ env: { HOME: "/home/op", OPENCLAW_CONFIG_PATH: "~/cfg/x.json" } });
    expect(p.configPath).toBe("/home/op/cfg/x.json");
    const blank = resolvePaths({ env: { HOME: "/home/op", OPENCLAW_CONFIG_PATH: "  " } });
    expect(blank.configPath).toBe("/home/op/.openclaw/openclaw.json");
    expect(blank.configPathFromEnv).toBe(false);
  });

  test("OPENCLAW_CONFIG_PATH beats --profile and OPENCLAW_STATE_DIR", () => {
    const p = resolvePaths({
      profile: "work",
      env: { HOME: "/home/op", OPENCLAW_STATE_DIR: "/var/lib/oc", OPENCLAW_CONFIG_PATH: "/etc/oc.json" },
    });
    expect(p.configPath).toBe("/etc/oc.json");
    expect(p.stateDir).toBe("/var/lib/oc");
  });

  test("dev profile: ~/.openclaw-dev and port 19001", () => {
    const p = resolvePaths({ profile: "dev", env: { HOME: "/home/op" } });
    expect(p.profile).toBe("dev");
    expect(p.stateDir).toBe("/home/op/.openclaw-dev");
    expect(p.configPath).toBe("/home/op/.openclaw-dev/openclaw.json");
    expect(p.defaultPort).toBe(19001);
    expect(DEV_PORT).toBe(19001);
  });

  test("named profile: ~/.openclaw-<P> and the hashed port", () => {
    const p = resolvePaths({ profile: "rescue", env: { HOME: "/home/op" } });
    expect(p.profile).toBe("rescue");
    expect(p.stateDir).toBe("/home/op/.openclaw-rescue");
    expect(p.configPath).toBe("/home/op/.openclaw-rescue/openclaw.json");
    expect(p.defaultPort).toBe(23532);
  });

  test("env-only OPENCLAW_PROFILE changes the default port but not the state dir", () => {
    const home = tempDir();
    const p = resolvePaths({ env: { HOME: home, OPENCLAW_PROFILE: "work" } });
    expect(p.profile).toBe("work");
    expect(p.defaultPort).toBe(41984);
    expect(p.stateDir).toBe(join(home, ".openclaw"));
    expect(p.configPath).toBe(join(home, ".openclaw", "openclaw.json"));
  });

  test("env-only OPENCLAW_PROFILE=default or an invalid value means no profile", () => {
    for (const value of ["default", "bad name!", "   "]) {
      const p = resolvePaths({ env: { HOME: "/home/op", OPENCLAW_PROFILE: value } });
      expect(p.profile).toBeUndefined();
      expect(p.defaultPort).toBe(18789);
      expect(p.stateDir).toBe("/home/op/.openclaw");
    }
  });

  test("an explicit profile beats OPENCLAW_PROFILE", () => {
    const p = resolvePaths({ profile: "ops", env: { HOME: "/home/op", OPENCLAW_PROFILE: "work" } });
    expect(p.profile).toBe("ops");
    expect(p.defaultPort).toBe(55291);
    expect(p.stateDir).toBe("/home/op/.openclaw-ops");
  });

  describe("legacy ~/.clawdbot fallback", () => {
    test("used when ~/.openclaw is absent and ~/.clawdbot exists", () => {
      const home = homeWith(".clawdbot");
      const p = resolvePaths({ env: { HOME: home } });
      expect(p.stateDir).toBe(join(home, ".clawdbot"));
      expect(p.configPath).toBe(join(home, ".clawdbot", "openclaw.json"));
    });

    test("~/.openclaw wins when both exist", () => {
      const home = homeWith(".clawdbot", ".openclaw");
      expect(resolvePaths({ env: { HOME: home } }).stateDir).toBe(join(home, ".openclaw"));
    });

    test("~/.openclaw when neither exists", () => {
      const home = tempDir();
      expect(resolvePaths({ env: { HOME: home } }).stateDir).toBe(join(home, ".openclaw"));
    });

    test("not used for a --profile or with OPENCLAW_STATE_DIR", () => {
      const home = homeWith(".clawdbot");
      expect(resolvePaths({ profile: "work", env: { HOME: home } }).stateDir).toBe(join(home, ".openclaw-work"));
      expect(resolvePaths({ env: { HOME: home, OPENCLAW_STATE_DIR: join(home, "s") } }).stateDir).toBe(join(home, "s"));
    });

    test("an env-only OPENCLAW_PROFILE still gets the legacy fallback (state dir does not move)", () => {
      const home = homeWith(".clawdbot");
      const p = resolvePaths({ env: { HOME: home, OPENCLAW_PROFILE: "work" } });
      expect(p.stateDir).toBe(join(home, ".clawdbot"));
      expect(p.defaultPort).toBe(41984);
    });
  });
});

describe("--profile validation", () => {
  test("undefined means no profile", () => {
    expect(normalizeProfile(undefined)).toBeUndefined();
  });

  test("empty value: --profile requires a value", () => {
    for (const raw of ["", "   "]) {
      expect(() => normalizeProfile(raw)).toThrow(ProfileError);
      expect(() => normalizeProfile(raw)).toThrow("--profile requires a value");
    }
  });

  test("invalid characters", () => {
    for (const raw of ["bad name", "a/b", "../x", "-lead", "_lead", "a.b", "ünï", "a:b", "x".repeat(65)]) {
      let caught: unknown;
      try {
        normalizeProfile(raw);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ProfileError);
      expect((caught as Error).message).toBe('Invalid --profile (use letters, numbers, "_", "-" only)');
    }
  });

  test("valid names are accepted (trimmed)", () => {
    expect(normalizeProfile("work")).toBe("work");
    expect(normalizeProfile("  ops ")).toBe("ops");
    expect(normalizeProfile("a_b-c9")).toBe("a_b-c9");
    expect(normalizeProfile("9lives")).toBe("9lives");
    expect(normalizeProfile("x".repeat(64))).toBe("x".repeat(64));
  });

  test("`default` means no profile", () => {
    expect(normalizeProfile("default")).toBeUndefined();
    expect(normalizeProfile("DEFAULT")).toBeUndefined();
  });

  test("--dev is --profile dev", () => {
    expect(profileFromFlags({ dev: true })).toBe("dev");
    expect(profileFromFlags({ dev: true, profile: "dev" })).toBe("dev");
    expect(profileFromFlags({ profile: "dev" })).toBe("dev");
  });

  test("Cannot combine --dev with --profile", () => {
    expect(() => profileFromFlags({ dev: true, profile: "work" })).toThrow("Cannot combine --dev with --profile");
    expect(() => profileFromFlags({ dev: true, profile: "work" })).toThrow(ProfileError);
  });

  test("profileFromFlags validates the profile value", () => {
    expect(() => profileFromFlags({ profile: "" })).toThrow("--profile requires a value");
    expect(() => profileFromFlags({ profile: "no way" })).toThrow('Invalid --profile (use letters, numbers, "_", "-" only)');
    expect(profileFromFlags({ profile: "default" })).toBeUndefined();
    expect(profileFromFlags({})).toBeUndefined();
    expect(profileFromFlags({ dev: false, profile: "work" })).toBe("work");
  });
});

describe("default ports", () => {
  test("FNV-1a 32-bit reference vectors", () => {
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    expect(fnv1a32("foobar")).toBe(0xbf9cf968);
  });

  test("hashes UTF-8 bytes", () => {
    // "é" is C3 A9 in UTF-8; hashing those two bytes by hand must agree.
    let h = 0x811c9dc5;
    for (const b of [0xc3, 0xa9]) h = Math.imul(h ^ b, 16777619) >>> 0;
    expect(fnv1a32("é")).toBe(h);
  });

  test("spec examples", () => {
    expect(profileDefaultPort("rescue")).toBe(23532);
    expect(profileDefaultPort("work")).toBe(41984);
    expect(profileDefaultPort("ops")).toBe(55291);
    expect(profileDefaultPort("main")).toBe(23592);
  });

  test("no profile → 18789, dev → 19001, named profiles within 20000..59999", () => {
    expect(profileDefaultPort(undefined)).toBe(18789);
    expect(profileDefaultPort("dev")).toBe(19001);
    for (const name of ["a", "staging", "x".repeat(64), "z9_-"]) {
      const port = profileDefaultPort(name);
      expect(port).toBeGreaterThanOrEqual(20000);
      expect(port).toBeLessThan(60000);
      expect(port).toBe(20000 + (fnv1a32(name) % 40000));
    }
  });
});

describe("parseEnvPort", () => {
  test("accepts N, host:N and [v6]:N", () => {
    expect(parseEnvPort("18789")).toBe(18789);
    expect(parseEnvPort(" 8080 ")).toBe(8080);
    expect(parseEnvPort("1")).toBe(1);
    expect(parseEnvPort("65535")).toBe(65535);
    expect(parseEnvPort("localhost:9000")).toBe(9000);
    expect(parseEnvPort("0.0.0.0:9001")).toBe(9001);
    expect(parseEnvPort("gateway.internal:9002")).toBe(9002);
    expect(parseEnvPort("[::1]:9003")).toBe(9003);
    expect(parseEnvPort("[fe80::1]:9004")).toBe(9004);
  });

  test("ignores junk and out-of-range values", () => {
    for (const raw of [
      undefined,
      "",
      "   ",
      "abc",
      "12ab",
      "0",
      "65536",
      "99999",
      "123456",
      "-1",
      "1.5",
      "1e3",
      "localhost:",
      "localhost:0",
      "localhost:70000",
      "::1:8080",
      "[::1]",
      "[::1]:",
      "a:b:8080",
    ]) {
      expect(parseEnvPort(raw)).toBeUndefined();
    }
  });
});
