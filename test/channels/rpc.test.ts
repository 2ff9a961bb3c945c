/**
 * The channel RPC core against the shapes captured from the official 2026.9.6 gateway
 * (test/fixture/transcripts/channels/): channels.status (with and without probe), start, stop,
 * logout, and channels.pairing.list|approve|dismiss with their error messages.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PairingStore } from "../../src/channels/pairing-store.ts";
import {
  ChannelsStatusParams,
  channelsLogout,
  channelsStart,
  channelsStatus,
  channelsStop,
  PairingApproveParams,
  pairingApprove,
  pairingDismiss,
  pairingList,
} from "../../src/channels/rpc.ts";
import { RpcError } from "../../src/protocol/errors.ts";
import { sentTo, startHarness, until, type Harness } from "./harness.ts";

const T = (name: string) => JSON.parse(readFileSync(join(import.meta.dir, "../fixture/transcripts/channels", name), "utf8"));

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function rpcError(p: Promise<unknown> | (() => unknown)): Promise<RpcError> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (err) {
    if (err instanceof RpcError) return err;
    throw err;
  }
  throw new Error("expected an RpcError");
}

const keys = (o: object) => Object.keys(o);

describe("channels.status", () => {
  test("probe answer has the original's keys, in its order, for the channel summary, the account, and the probe", async () => {
    h = await startHarness();
    const sup = h.host.supervisor("telegram")!;
    await until(() => sup.state.connected);
    const ours = (await channelsStatus(h.host, { probe: true })) as any;
    const theirs = T("channels-status-probe.json");
    expect(keys(ours).filter((k) => k !== "eventLoop")).toEqual(keys(theirs).filter((k) => k !== "eventLoop"));
    expect(ours.channelOrder).toEqual(["telegram"]);
    expect(ours.channelMeta).toEqual(theirs.channelMeta);
    expect(ours.channelLabels).toEqual(theirs.channelLabels);
    expect(ours.channelDetailLabels).toEqual(theirs.channelDetailLabels);
    expect(ours.channelSystemImages).toEqual(theirs.channelSystemImages);
    expect(ours.channelDefaultAccountId).toEqual({ telegram: "default" });
    expect(keys(ours.channels.telegram)).toEqual(keys(theirs.channels.telegram));
    const a = ours.channelAccounts.telegram[0];
    const b = theirs.channelAccounts.telegram[0];
    expect(keys(a)).toEqual(keys(b));
    expect(keys(a.probe)).toEqual(keys(b.probe));
    expect(a.probe.botInfo).toEqual(b.probe.botInfo);
    expect(a.probe.bot).toEqual(b.probe.bot);
    expect(a).toMatchObject({ accountId: "default", enabled: true, lifecycle: "ready", tokenSource: "config", tokenStatus: "available", mode: "polling", configured: true, running: true, connected: true, lastError: null });
    expect(ours.statusIssues).toEqual([]);
  });

  test("without probe: no probe fields on the account, lastProbeAt null on the summary (as the original)", async () => {
    h = await startHarness();
    await until(() => h!.host.supervisor("telegram")!.state.connected);
    await channelsStatus(h.host, { probe: true });
    const ours = (await channelsStatus(h.host)) as any;
    const theirs = T("call-channels-status.json");
    expect(keys(ours.channels.telegram)).toEqual(keys(theirs.channels.telegram));
    expect(ours.channels.telegram.lastProbeAt).toBeNull();
    expect(keys(ours.channelAccounts.telegram[0])).toEqual(keys(theirs.channelAccounts.telegram[0]));
  });

  test("no channels configured: the empty answer; unknown channel filter is an error; params are closed", async () => {
    h = await startHarness({ telegram: false });
    const empty = (await channelsStatus(h.host, {})) as any;
    expect(empty).toMatchObject({ channelOrder: [], channels: {}, channelAccounts: {}, channelDefaultAccountId: {}, statusIssues: [] });
    expect((await rpcError(channelsStatus(h.host, { channel: "irc" }))).code).toBe("INVALID_REQUEST");
    expect(ChannelsStatusParams.safeParse({ probe: true, timeoutMs: 100 }).success).toBe(true);
    expect(ChannelsStatusParams.safeParse({ probe: "yes" }).success).toBe(false);
    expect(ChannelsStatusParams.safeParse({ extra: 1 }).success).toBe(false);
  });
});

describe("channels.start / stop / logout", () => {
  test("stop then start answer as the original; a second start is 'task-owned'; unknown channel is an error", async () => {
    h = await startHarness();
    await until(() => h!.host.supervisor("telegram")!.state.connected);
    expect(await channelsStop(h.host, { channel: "telegram" })).toEqual(T("call-channels-stop.json"));
    const sup = h.host.supervisor("telegram")!;
    expect(sup.state.running).toBe(false);
    expect(sup.state.lifecycle).toBe("stopped");
    // A manual stop survives an unrelated config reload.
    await h.apply({ ...h.config, session: { dmScope: "main" } });
    expect(sup.isRunning).toBe(false);
    expect(await channelsStart(h.host, { channel: "telegram" })).toEqual(T("call-channels-start.json"));
    expect(await channelsStart(h.host, { channel: "telegram" })).toEqual(T("call-channels-start-again.json"));
    const err = await rpcError(channelsStart(h.host, { channel: "nope" }));
    expect(err.toShape()).toEqual({ code: "INVALID_REQUEST", message: "invalid channels.start channel" });
    expect(await channelsStop(h.host, { channel: "telegram", accountId: "other" })).toEqual(T("call-channels-stop-unknown-account.json"));
    expect(await channelsStart(h.host, { channel: "telegram", accountId: "other" })).toEqual({ channel: "telegram", accountId: "other", started: false, outcome: { status: "skipped", reason: "unconfigured" } });
  });

  test("logout clears the token from the config file and stops the account; after the reload it is 'not configured'", async () => {
    h = await startHarness();
    await until(() => h!.host.supervisor("telegram")!.state.connected);
    const res = await channelsLogout(h.host, { channel: "telegram" });
    expect(res).toEqual(T("call-channels-logout.json"));
    const doc = JSON.parse(readFileSync(h.configPath, "utf8"));
    expect(doc.channels.telegram.botToken).toBeUndefined();
    expect(doc.channels.telegram.apiRoot).toBe(h.telegram.url);
    await h.apply(doc);
    const acc = ((await channelsStatus(h.host)) as any).channelAccounts.telegram[0];
    expect(acc).toMatchObject({ configured: false, running: false, stateReason: "not configured", lastError: "logged out", tokenSource: "none", tokenStatus: "missing" });
  });

  test("logout with the token from TELEGRAM_BOT_TOKEN reports envToken and does not claim a logout", async () => {
    h = await startHarness({ telegram: { botToken: undefined }, env: {} });
    await h.host.stop();
    const { ChannelHost } = await import("../../src/channels/host.ts");
    const { createTelegramPlugin } = await import("../../src/channels/telegram/plugin.ts");
    const { createLogger } = await import("../../src/log/logger.ts");
    const host = new ChannelHost({
      config: { channels: { telegram: { apiRoot: h.telegram.url } } },
      env: { TELEGRAM_BOT_TOKEN: h.telegram.token },
      stateDir: h.stateDir,
      configPath: h.configPath,
      db: h.db,
      runTurn: async () => null,
      log: createLogger({ level: "silent", sinks: [] }),
      plugins: [createTelegramPlugin()],
    });
    await host.start();
    await until(() => host.supervisor("telegram")!.state.connected);
    expect(((await channelsStatus(host)) as any).channels.telegram.tokenSource).toBe("env");
    expect(await channelsLogout(host, { channel: "telegram" })).toEqual({ channel: "telegram", accountId: "default", cleared: false, envToken: true, loggedOut: false });
    await host.stop();
  });
});

describe("channels.pairing.*", () => {
  test("list, approve (with notify and owner bootstrap) and dismiss answer with the original's shapes and messages", async () => {
    h = await startHarness();
    const tg = h.telegram;
    tg.dm("hi", { id: 888000333, username: "carol", first_name: "Carol" });
    tg.dm("hi", { id: 888000444, first_name: "Dave", username: "dave" });
    await tg.waitFor(() => tg.of("sendMessage").length === 2);
    const list = pairingList(h.host, {});
    const theirs = T("call-channels-pairing-list.json");
    expect(keys(list)).toEqual(keys(theirs));
    expect(list.accounts).toEqual(theirs.accounts);
    expect(list.limits).toEqual(theirs.limits);
    expect(list.commandOwnerConfigured).toBe(false);
    expect(list.requests).toHaveLength(2);
    expect(keys(list.requests[0])).toEqual(keys(theirs.requests[0]));
    const carol = list.requests.find((r: any) => r.senderId === "888000333") as any;
    expect(carol).toMatchObject({ channel: "telegram", channelLabel: "Telegram", accountId: "default", senderLabel: "telegramUserId", metadata: { username: "carol", firstName: "Carol" }, notifySupported: true });
    expect(Date.parse(carol.expiresAt) - Date.parse(carol.createdAt)).toBe(3_600_000);

    expect(PairingApproveParams.safeParse({ channel: "telegram", accountId: "default", requestId: "x", code: "y" }).success).toBe(false);
    const approved = await pairingApprove(h.host, { channel: "telegram", accountId: "default", requestId: carol.requestId, notify: true, bootstrapCommandOwner: true });
    expect(approved).toEqual({ requestId: carol.requestId, senderId: "888000333", notification: "sent", commandOwnerBootstrap: "configured" });
    expect(keys(approved)).toEqual(keys(T("call-channels-pairing-approve.json")));
    expect(sentTo(tg, 888000333).at(-1)).toBe("✅ OpenClaw access approved. Send a message to start chatting.");
    expect(JSON.parse(readFileSync(h.configPath, "utf8")).commands.ownerAllowFrom).toEqual(["telegram:888000333"]);

    const dave = pairingList(h.host, { channel: "telegram" }).requests[0] as any;
    expect(pairingDismiss(h.host, { channel: "telegram", accountId: "default", requestId: dave.requestId })).toEqual({ requestId: dave.requestId, senderId: "888000444" });
    const gone = await rpcError(pairingApprove(h.host, { channel: "telegram", accountId: "default", requestId: dave.requestId }));
    expect(gone.toShape()).toEqual({ code: "INVALID_REQUEST", message: T("call-channels-pairing-approve-missing.json").error.message });
    const badAccount = await rpcError(pairingApprove(h.host, { channel: "telegram", accountId: "work", requestId: dave.requestId }));
    expect(badAccount.message).toBe(T("call-channels-pairing-approve-bad-account.json").error.message);
    const badChannel = await rpcError(() => pairingList(h!.host, { channel: "nope" }));
    expect(badChannel.message).toBe(T("call-channels-pairing-list-unknown.json").error.message);

    // Approved through the RPC: the sender is in.
    tg.dm("hello again", { id: 888000333 });
    await tg.waitFor(() => sentTo(tg, 888000333).includes("echo: hello again"));
    const store = new PairingStore(h.stateDir);
    expect(store.readAllowFrom("telegram")).toEqual(["888000333"]);
    store.close();
  });

  test("accounts that do not use pairing are not listed; approving there is refused", async () => {
    h = await startHarness({ telegram: { dmPolicy: "allowlist", allowFrom: ["1"] } });
    expect(pairingList(h.host, {}).accounts).toEqual([]);
    const err = await rpcError(pairingApprove(h.host, { channel: "telegram", accountId: "default", requestId: "x" }));
    expect(err.message).toBe("channel account does not use DM pairing: telegram:default");
  });
});
