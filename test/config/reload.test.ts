import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseKeyPath } from "../../src/config/keypath.ts";
import {
  classifyPath,
  ConfigFileWatcher,
  debounceMsOf,
  decideReload,
  planReload,
  RELOAD_RULES,
  reloadModeOf,
  revertPaths,
} from "../../src/config/reload.ts";

const cls = (p: string, authModeUnchanged = true) => classifyPath(parseKeyPath(p), { authModeUnchanged });

describe("classification table", () => {
  test("restart-required keys", () => {
    for (const p of ["gateway.port", "gateway.bind", "gateway.customBindHost", "gateway.auth.mode", "gateway.tls.enabled", "gateway.tailscale.mode", "discovery.wideArea.domain", "gateway.portals.x", "mcp.apps.a", "secrets.egressProxy.url", "gateway.mode"]) {
      expect([p, cls(p)]).toEqual([p, "restart"]);
    }
  });

  test("hot-safe keys", () => {
    for (const p of [
      "gateway.controlUi.allowedOrigins",
      "gateway.trustedProxies",
      "gateway.http.endpoints.chatCompletions.enabled",
      "gateway.http.securityHeaders.strictTransportSecurity",
      "gateway.auth.rateLimit.maxAttempts",
      "gateway.auth.trustedProxy.userHeader",
      "discovery.mdns.mode",
      "agents.defaults.model",
      "agents.entries.main.model",
      "models.providers.openai.apiKey",
      "channels.telegram.enabled",
      "plugins.entries",
      "update.channel",
      "diagnostics.enabled",
    ]) {
      expect([p, cls(p)]).toEqual([p, "hot"]);
    }
  });

  test("no-action keys", () => {
    for (const p of ["meta.lastTouchedAt", "gateway.reload.debounceMs", "gateway.remote.url", "logging.level", "agents.list", "wizard.x", "secrets.providers.a", "$schema"]) {
      expect([p, cls(p)]).toEqual([p, "none"]);
    }
  });

  test("the shared secret is hot while the auth mode stays, else restart", () => {
    expect(cls("gateway.auth.token")).toBe("hot");
    expect(cls("gateway.auth.password")).toBe("hot");
    expect(cls("gateway.auth.token", false)).toBe("restart");
    expect(cls("gateway.auth.password", false)).toBe("restart");
  });

  test("unmatched keys need a restart (safe default); longest prefix wins", () => {
    expect(cls("env.vars.X")).toBe("restart");
    expect(cls("browser.enabled")).toBe("restart");
    expect(cls("diagnostics.other")).toBe("restart");
    expect(cls("secrets")).toBe("none");
    expect(cls("secrets.egressProxy")).toBe("restart");
  });

  test("the table has no duplicate prefixes", () => {
    const prefixes = RELOAD_RULES.map(([p]) => p);
    expect(new Set(prefixes).size).toBe(prefixes.length);
  });
});

describe("plan and decision", () => {
  const before = { gateway: { port: 1, auth: { token: "a" } }, models: { x: 1 }, logging: { level: "info" } };

  test("planReload groups changed keys by class", () => {
    const plan = planReload(before, { gateway: { port: 2, auth: { token: "b" } }, models: { x: 2 }, logging: { level: "debug" } });
    expect(plan.changed.sort()).toEqual(["gateway.auth.token", "gateway.port", "logging.level", "models.x"]);
    expect(plan.restart).toEqual(["gateway.port"]);
    expect(plan.hot.sort()).toEqual(["gateway.auth.token", "models.x"]);
    expect(plan.none).toEqual(["logging.level"]);
  });

  test("decideReload per mode", () => {
    const hotOnly = planReload(before, { ...before, models: { x: 2 } });
    const needsRestart = planReload(before, { ...before, gateway: { ...before.gateway, port: 9 } });
    const noneOnly = planReload(before, { ...before, logging: { level: "warn" } });
    const same = planReload(before, structuredClone(before));
    expect(decideReload("hybrid", same)).toEqual({ action: "unchanged" });
    expect(decideReload("hybrid", hotOnly)).toEqual({ action: "hot", skipped: [] });
    expect(decideReload("hybrid", needsRestart)).toEqual({ action: "restart" });
    expect(decideReload("hot", needsRestart)).toEqual({ action: "hot", skipped: ["gateway.port"] });
    expect(decideReload("restart", hotOnly)).toEqual({ action: "restart" });
    expect(decideReload("restart", noneOnly)).toEqual({ action: "hot", skipped: [] });
    expect(decideReload("off", hotOnly)).toEqual({ action: "ignore" });
  });

  test("revertPaths puts the running values back for skipped keys (and drops added ones)", () => {
    const next = { gateway: { port: 2, bind: "lan" }, models: { x: 2 } };
    const prev = { gateway: { port: 1 }, models: { x: 1 } };
    expect(revertPaths(next, prev, [["gateway", "port"], ["gateway", "bind"]]) as unknown).toEqual({ gateway: { port: 1 }, models: { x: 2 } });
  });

  test("defaults: hybrid, 300 ms", () => {
    expect(reloadModeOf({})).toBe("hybrid");
    expect(debounceMsOf({})).toBe(300);
    expect(reloadModeOf({ gateway: { reload: { mode: "off" } } })).toBe("off");
    expect(debounceMsOf({ gateway: { reload: { debounceMs: 5 } } })).toBe(5);
    expect(debounceMsOf({ gateway: { reload: { debounceMs: 1e12 } } })).toBe(2_147_483_647);
  });
});

describe("ConfigFileWatcher", () => {
  test("fires once per burst for the watched name only, including rename-over", async () => {
    const dir = mkdtempSync(join(tmpdir(), "openclaw-watch-test-"));
    const path = join(dir, "openclaw.json");
    writeFileSync(path, "{}");
    let calls = 0;
    const w = new ConfigFileWatcher(path, 40, () => calls++);
    try {
      expect(w.start()).toBe(true);
      for (let i = 0; i < 5; i++) writeFileSync(path, `{"i":${i}}`);
      writeFileSync(join(dir, "other.json"), "{}");
      await waitFor(() => calls === 1);
      await Bun.sleep(100);
      expect(calls).toBe(1);
      writeFileSync(join(dir, "unrelated.txt"), "x");
      await Bun.sleep(100);
      expect(calls).toBe(1);
      writeFileSync(join(dir, ".tmp"), '{"renamed":true}');
      renameSync(join(dir, ".tmp"), path);
      await waitFor(() => calls === 2);
    } finally {
      w.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("an unwatchable directory reports an error instead of throwing", () => {
    const errors: string[] = [];
    const w = new ConfigFileWatcher("/nonexistent-dir-openclaw/openclaw.json", 10, () => {}, (m) => errors.push(m));
    expect(w.start()).toBe(false);
    expect(errors[0]).toContain("cannot watch /nonexistent-dir-openclaw");
    w.close();
  });
});

async function waitFor(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(5);
  }
}
