/**
 * Host supervision with a scripted plugin and the real Telegram plugin: restart with backoff,
 * never throwing out of the host, clean stop, config changes that restart only the affected
 * accounts, disabled and unconfigured accounts, a plugin that misbehaves in every hook.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { ChannelHost } from "../../src/channels/host.ts";
import { channelsStatus } from "../../src/channels/rpc.ts";
import type { AccountContext, ChannelPlugin, InboundMessage, ResolvedAccount } from "../../src/channels/types.ts";
import type { OpenClawConfig } from "../../src/config/schema.ts";
import { createLogger } from "../../src/log/logger.ts";
import { openDatabase } from "../../src/store/db.ts";
import { FakeTelegram } from "../fixture/fake-telegram.ts";
import { useTempDirs } from "../helpers/state-dir.ts";
import { FAST, sentTo, startHarness, until, WaitableSink, type Harness } from "./harness.ts";

const newDir = useTempDirs("openclaw-host-");
let h: Harness | undefined;
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  await h?.stop();
  h = undefined;
  for (const c of cleanup.splice(0)) await c();
});

/** A plugin whose run() is scripted per attempt. */
function scripted(runs: Array<(ctx: AccountContext) => Promise<void>>): ChannelPlugin & { attempts: number } {
  let attempts = 0;
  const account = (cfg: OpenClawConfig, id: string): ResolvedAccount => {
    const root = ((cfg.channels as Record<string, any>)?.fake ?? {}) as Record<string, any>;
    return {
      channel: "fake",
      accountId: id,
      enabled: root.enabled !== false,
      configured: Boolean(root.token),
      token: root.token,
      tokenSource: root.token ? "config" : "none",
      config: root,
      access: { dmPolicy: "open", allowFrom: ["*"], groupPolicy: "open", groupAllowFrom: [], mentionPatterns: [], historyLimit: 0 },
      transportKey: String(root.token),
      mode: "test",
    };
  };
  const plugin = {
    get attempts() {
      return attempts;
    },
    meta: { id: "fake", label: "Fake", detailLabel: "Fake Chat", docsPath: "/x", idLabel: "fakeId", groupNoun: "group", groupsKey: "channels.fake.groups", historyLimitDefault: 0 },
    typingIntervalMs: 1000,
    listAccountIds: (cfg: OpenClawConfig) => ((cfg.channels as Record<string, unknown>)?.fake ? ["default"] : []),
    defaultAccountId: () => "default",
    resolveAccount: account,
    createClient: () => ({
      sendText: async () => [],
      sendTyping: async () => {},
      react: async () => {},
      notify: async () => {},
      probe: async () => {
        throw new Error("probe exploded");
      },
    }),
    run: async (ctx: AccountContext) => {
      const script = runs[Math.min(attempts, runs.length - 1)];
      attempts += 1;
      await script(ctx);
    },
    decode: async (): Promise<InboundMessage | null> => {
      throw new Error("decode exploded");
    },
    groupScope: () => ({ allowlistConfigured: false, matched: true }),
    normalizeAllowEntry: (e: string) => e,
    describe: (a: ResolvedAccount) => ({ tokenSource: a.tokenSource, mode: a.mode }),
    pairingIdLine: (id: string) => `id ${id}`,
    parseTarget: (to: string) => ({ ok: true as const, target: { chatId: to, kind: "direct" as const }, to }),
    targetOf: (r: { chatId: string }) => r.chatId,
    ownerTarget: (e: string) => e,
    targetPrefixes: ["fake:"],
    targetHint: "<id>",
  };
  return plugin as ChannelPlugin & { attempts: number };
}

function bareHost(plugin: ChannelPlugin, config: OpenClawConfig, logs = new WaitableSink()) {
  const dir = newDir();
  const db = openDatabase(dir);
  const host = new ChannelHost({ config, stateDir: dir, db, runTurn: async () => null, log: createLogger({ level: "debug", sinks: [logs] }), plugins: [plugin], restart: FAST, retry: FAST, maxAttempts: 2 });
  cleanup.push(async () => {
    await host.stop();
    db.close();
  });
  return host;
}

const waitAbort = (ctx: AccountContext) => new Promise<void>((r) => ctx.signal.addEventListener("abort", () => r()));

describe("supervision", () => {
  test("a failing account restarts with backoff until it connects; attempts are reported, then reset", async () => {
    const logs = new WaitableSink();
    const plugin = scripted([
      async () => {
        throw new Error("network down");
      },
      async () => {
        throw new Error("still down");
      },
      async (ctx) => {
        ctx.status({ connected: true });
        await waitAbort(ctx);
      },
    ]);
    const host = bareHost(plugin, { channels: { fake: { token: "t" } } } as OpenClawConfig, logs);
    await host.start();
    const sup = host.supervisor("fake")!;
    await until(() => sup.state.connected, 5000, "connected");
    expect(plugin.attempts).toBe(3);
    expect(sup.state.reconnectAttempts).toBe(0);
    expect(sup.state.lifecycle).toBe("ready");
    await logs.waitFor("channel exited: network down; restarting in 20 ms (attempt 1)");
    await logs.waitFor("channel exited: still down; restarting in 40 ms (attempt 2)");
    await host.stop();
    expect(sup.state).toMatchObject({ running: false, connected: false, lifecycle: "stopped" });
  });

  test("a run() that returns on its own is restarted too; stop() during the backoff ends promptly", async () => {
    const plugin = scripted([async () => {}]);
    const host = bareHost(plugin, { channels: { fake: { token: "t" } } } as OpenClawConfig);
    await host.start();
    await until(() => plugin.attempts >= 3, 5000, "restarts");
    await host.stop();
    const after = plugin.attempts;
    expect(host.supervisor("fake")!.isRunning).toBe(false);
    expect(plugin.attempts).toBe(after);
  });

  test("a plugin failing in decode and probe: events become dead letters after maxAttempts; probe errors are a result, not a throw", async () => {
    const logs = new WaitableSink();
    const plugin = scripted([
      async (ctx) => {
        ctx.status({ connected: true });
        await ctx.ingest([{ id: "e1", lane: "l", payload: { x: 1 } }]);
        await waitAbort(ctx);
      },
    ]);
    const host = bareHost(plugin, { channels: { fake: { token: "t" } } } as OpenClawConfig, logs);
    await host.start();
    await logs.waitFor("inbound event e1 failed after 2 attempts: decode exploded");
    expect(host.ingress.deadLetters("fake:default")).toMatchObject([{ id: "e1", attempts: 2, error: "decode exploded", payload: { x: 1 } }]);
    expect(host.ingress.pendingCount("fake:default")).toBe(0);
    const status = (await channelsStatus(host, { probe: true })) as any;
    expect(status.channelAccounts.fake[0].probe).toMatchObject({ ok: false, error: "probe exploded" });
  });

  test("disabled and unconfigured accounts are listed but never started; enabling starts them", async () => {
    const plugin = scripted([async (ctx) => waitAbort(ctx)]);
    const host = bareHost(plugin, { channels: { fake: { token: "t", enabled: false } } } as OpenClawConfig);
    await host.start();
    const status = (await channelsStatus(host)) as any;
    expect(status.channelAccounts.fake[0]).toMatchObject({ enabled: false, configured: true, running: false });
    expect(plugin.attempts).toBe(0);
    expect((await host.startAccount("fake")).outcome).toEqual({ status: "skipped", reason: "disabled" });
    await host.applyConfig({ channels: { fake: {} } } as OpenClawConfig);
    expect((await host.startAccount("fake")).outcome).toEqual({ status: "skipped", reason: "unconfigured" });
    await host.applyConfig({ channels: { fake: { token: "t" } } } as OpenClawConfig);
    await until(() => plugin.attempts === 1, 5000, "started");
    await host.applyConfig({} as OpenClawConfig);
    expect(host.listSupervisors()).toHaveLength(0);
    expect(((await channelsStatus(host)) as any).channelOrder).toEqual([]);
  });
});

describe("config changes with real Telegram accounts", () => {
  test("changing one account's token restarts only that account; policy edits apply in place; a removed account stops polling", async () => {
    const tg = new FakeTelegram().start();
    cleanup.push(() => tg.stop());
    tg.tokens.set("222:B", { id: 222, username: "b_bot", first_name: "B" });
    tg.tokens.set("333:C", { id: 333, username: "c_bot", first_name: "C" });
    const accounts = (b: string) => ({ a: { botToken: tg.token }, b: { botToken: b } });
    h = await startHarness({ fakeTelegram: tg, telegram: { botToken: undefined, accounts: accounts("222:B") } });
    await until(() => h!.host.listSupervisors("telegram").every((s) => s.state.connected), 5000, "both connected");
    const base = { botToken: undefined, apiRoot: tg.url, dmPolicy: "open" as const, allowFrom: ["*"] };
    await h.apply({ channels: { telegram: { ...base, accounts: accounts("333:C") } } });
    await until(() => h!.host.supervisor("telegram", "b")!.state.connected && tg.of("getMe", "333:C").length === 1, 5000, "b restarted");
    expect(tg.of("getMe", tg.token)).toHaveLength(1);
    expect(tg.of("getMe", "222:B")).toHaveLength(1);
    // The policy change (open DMs) reached account a without a restart.
    tg.dm("policy applied?", { id: 9 }, tg.token);
    await tg.waitFor(() => tg.of("sendMessage", tg.token).some((c) => c.body.text === "echo: policy applied?"));
    await h.apply({ channels: { telegram: { ...base, accounts: { a: { botToken: tg.token } } } } });
    expect(h.host.listSupervisors("telegram").map((s) => s.account.accountId)).toEqual(["a"]);
    // apply() waited for the removed account's loop to end: it polls no more.
    const polls = tg.of("getUpdates", "333:C").length;
    tg.dm("still here", { id: 9 }, tg.token);
    await tg.waitFor(() => sentTo(tg, 9).includes("echo: still here"));
    expect(tg.of("getUpdates", "333:C").length).toBe(polls);
    expect(tg.of("getMe", tg.token)).toHaveLength(1);
  });
});
