/**
 * The CLI logic of `openclaw pairing list|approve` and `openclaw channels status|list`, and —
 * with OPENCLAW_REF_CLI — the pairing story across both CLIs: an unknown Telegram DM
 * handled by our host, listed and approved by the official CLI on our state dir, and the
 * approved sender's next DM answered by our host.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { channelsList, channelsStatusText, ChannelCliError, configOnlyStatus, pairingApproveCommand, pairingListCommand, type CliContext } from "../../src/channels/commands.ts";
import { createDiscordPlugin } from "../../src/channels/discord/plugin.ts";
import { PairingStore } from "../../src/channels/pairing-store.ts";
import { channelsStatus } from "../../src/channels/rpc.ts";
import { createTelegramPlugin } from "../../src/channels/telegram/plugin.ts";
import type { OpenClawConfig } from "../../src/config/schema.ts";
import { sentTo, startHarness, until, type Harness } from "./harness.ts";

const T = (name: string) => readFileSync(join(import.meta.dir, "../fixture/transcripts/channels", name), "utf8");

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

function cli(harness: Harness, config?: OpenClawConfig): CliContext {
  return { stateDir: harness.stateDir, configPath: harness.configPath, config: config ?? harness.config, env: {}, plugins: [createTelegramPlugin(), createDiscordPlugin()] };
}

async function cliError(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof ChannelCliError) return err.message;
    throw err;
  }
  throw new Error("expected a ChannelCliError");
}

describe("pairing list / approve (our CLI, on the state files)", () => {
  test("list (text and JSON), approve by code with owner bootstrap and notify, the original's messages", async () => {
    h = await startHarness();
    const tg = h.telegram;
    tg.dm("hi", { id: 4242, username: "zed", first_name: "Zed" });
    await tg.waitFor(() => tg.of("sendMessage").length === 1);
    const ctx = cli(h);
    const json = pairingListCommand(ctx, { positional: "telegram", json: true }).json!;
    expect(json.channel).toBe("telegram");
    expect(json.requests).toHaveLength(1);
    const { code } = json.requests[0];
    expect(json.requests[0]).toMatchObject({ id: "4242", meta: { username: "zed", firstName: "Zed", accountId: "default" } });
    const text = pairingListCommand(ctx, {}).text; // the only configured channel is the default
    expect(text).toStartWith("Pairing requests (1)\n┌");
    expect(text).toContain(`│ ${code} │`);
    expect(text).toContain("telegramUserId");

    expect(await cliError(() => pairingApproveCommand(ctx, { codeOrChannel: "telegram", code: "ZZZZZZZZ" }))).toBe(
      'No pending pairing request found for code "ZZZZZZZZ". Run openclaw pairing list --channel telegram to list pending requests.',
    );
    const lines = await pairingApproveCommand(ctx, { codeOrChannel: "telegram", code: code.toLowerCase(), notify: true });
    expect(lines).toEqual(["Approved telegram sender 4242.", "Command owner configured telegram:4242 (commands.ownerAllowFrom was empty)."]);
    expect(JSON.parse(readFileSync(h.configPath, "utf8")).commands.ownerAllowFrom).toEqual(["telegram:4242"]);
    expect(sentTo(tg, 4242).at(-1)).toBe("✅ OpenClaw access approved. Send a message to start chatting.");
    expect(pairingListCommand(ctx, { channel: "telegram" }).text).toBe("No pending telegram pairing requests.\n");

    tg.dm("let me in", { id: 4242 });
    await tg.waitFor(() => sentTo(tg, 4242).includes("echo: let me in"));
  });

  test("argument errors read as the original's", async () => {
    h = await startHarness({ telegram: false });
    const none = cli(h, {});
    expect(await cliError(() => pairingListCommand(none, {}))).toBe("No chat DM pairing channels are configured. To approve a TUI or device request, use openclaw devices approve instead.");
    const both = cli(h, { channels: { telegram: { botToken: "1:x" }, discord: { token: "t" } } } as OpenClawConfig);
    expect(await cliError(() => pairingListCommand(both, {}))).toBe("Channel required (expected one of: telegram, discord).");
    expect(await cliError(() => pairingListCommand(both, { channel: "telegram", positional: "discord" }))).toContain("Conflicting pairing channels");
    expect(await cliError(() => pairingListCommand(both, { channel: "Bad Channel!" }))).toBe('Invalid channel "bad channel!". Use lowercase letters, numbers, "_" or "-", for example "telegram".');
    expect(await cliError(() => pairingListCommand(both, { channel: "telegram", account: "  " }))).toBe("--account must not be blank");
    expect(pairingListCommand(both, { channel: "nope" }).text).toBe("No pending nope pairing requests.\n");
    expect(await cliError(() => pairingApproveCommand(both, { codeOrChannel: "ABCDEFGH" }))).toBe(
      "Usage: openclaw pairing approve <channel> <code> (or: openclaw pairing approve --channel <channel> <code>)",
    );
    expect(await cliError(() => pairingApproveCommand(both, { channel: "telegram", codeOrChannel: "telegram", code: "X" }))).toBe(
      "Too many arguments. Use: openclaw pairing approve --channel <channel> <code>",
    );
  });
});

describe("channels status / list rendering", () => {
  test("status lines match the official CLI's for the captured answers", () => {
    const probe = JSON.parse(T("channels-status-probe.json"));
    const ref = T("channels-status-probe.txt").split("\n").filter((l) => l.startsWith("- "));
    expect(channelsStatusText(probe, probe.ts).trim().split("\n")).toEqual(ref);
    const blocked = JSON.parse(T("channels-status-probe-401.json"));
    const refBlocked = T("channels-status-probe-401.txt");
    const ours = channelsStatusText(blocked, blocked.ts);
    expect(ours).toContain("- Telegram default: enabled, configured, error:Telegram bot token unauthorized");
    expect(ours).toContain(", stopped, disconnected, in:just now, out:just now, transport:just now, mode:polling, token:***, health:terminal-disconnect, probe failed");
    for (const line of refBlocked.split("\n").filter((l) => l.startsWith("- telegram default:") || l === "- Run: openclaw doctor")) expect(ours).toContain(line);
  });

  test("our live answer renders the same way", async () => {
    h = await startHarness();
    await until(() => h!.host.supervisor("telegram")!.state.connected);
    const res = await channelsStatus(h.host, { probe: true });
    expect(channelsStatusText(res)).toBe("- Telegram default: enabled, configured, running, connected, transport:just now, mode:polling, bot:@fake_bot, token:***, works\n");
  });

  test("gateway down: the config-only summary has the original's JSON keys and lines; channels list likewise", () => {
    const config = { channels: { telegram: { botToken: "123:x" } } } as OpenClawConfig;
    const ctx: CliContext = { stateDir: "/nonexistent", configPath: "/tmp/x/openclaw.json", config, env: {}, plugins: [createTelegramPlugin(), createDiscordPlugin()] };
    const offline = configOnlyStatus(ctx, "Gateway not reachable");
    const ref = JSON.parse(T("channels-status-offline.json"));
    expect(Object.keys(offline.json)).toEqual(Object.keys(ref));
    expect(offline.json).toMatchObject({ gatewayReachable: false, configOnly: true, config: { path: "/tmp/x/openclaw.json", mode: "local" }, configuredChannels: ["telegram"] });
    expect(offline.text).toContain("Gateway not reachable; showing config-only status.\nConfig: /tmp/x/openclaw.json\nMode: local\n\n- Telegram default: enabled, configured, mode:polling, token:***");
    expect(T("channels-status-offline.txt")).toContain("- Telegram default: enabled, configured, mode:polling, token:***");
    const list = channelsList(ctx);
    expect(list.json).toEqual(JSON.parse(T("channels-list.json")));
    expect(list.text).toContain("- Telegram default: installed, configured, enabled, token=***");
  });
});

const REF = process.env.OPENCLAW_REF_CLI;

describe.skipIf(!REF)("the official CLI on our state dir (OPENCLAW_REF_CLI)", () => {
  test(
    "an unknown DM gets a code from our host; the official `pairing list/approve` see and approve it; the next DM gets the turn's reply",
    async () => {
      h = await startHarness();
      const tg = h.telegram;
      tg.dm("hello there", { id: 555000111, username: "alice", first_name: "Alice" });
      await tg.waitFor(() => sentTo(tg, 555000111).length === 1);
      expect(h.turns).toHaveLength(0);
      const code = /openclaw pairing approve telegram ([A-Z2-9]{8})/.exec(sentTo(tg, 555000111)[0])![1];
      const env = { ...process.env, HOME: join(h.stateDir, "home"), OPENCLAW_STATE_DIR: h.stateDir, OPENCLAW_CONFIG_PATH: h.configPath, NO_COLOR: "1" };
      const run = (...args: string[]) => {
        const r = Bun.spawnSync([REF!, ...args], { env, stdout: "pipe", stderr: "pipe" });
        return { code: r.exitCode, out: r.stdout.toString() };
      };
      const list = run("pairing", "list", "--channel", "telegram", "--json");
      expect(list.code).toBe(0);
      expect(JSON.parse(list.out).requests.map((r: { code: string; id: string }) => [r.code, r.id])).toEqual([[code, "555000111"]]);
      const approve = run("pairing", "approve", "telegram", code);
      expect(approve.code).toBe(0);
      expect(approve.out).toContain("Approved telegram sender 555000111.");
      tg.dm("what is up", { id: 555000111 });
      await tg.waitFor(() => sentTo(tg, 555000111).includes("echo: what is up"));
      expect(h.turns.map((t) => t.sessionKey)).toEqual(["agent:main:main"]);
      const store = new PairingStore(h.stateDir);
      expect(store.readAllowFrom("telegram")).toEqual(["555000111"]);
      store.close();
    },
    120_000,
  );
});
