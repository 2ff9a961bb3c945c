/**
 * Telegram under bad conditions: a rejected token, rate limits, 5xx, a hanging or lying Bot
 * API, malformed and huge updates, floods, restarts with work in flight, failing turns.
 * The host must keep running, memory must stay bounded, nothing admitted may be lost.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { channelsStatus } from "../../src/channels/rpc.ts";
import { createTelegramPlugin } from "../../src/channels/telegram/plugin.ts";
import { TurnDeferredError } from "../../src/channels/types.ts";
import { FakeTelegram } from "../fixture/fake-telegram.ts";
import { FAST, sentTo, startHarness, until, type Harness } from "./harness.ts";

let h: Harness | undefined;
const extra: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  await h?.stop();
  h = undefined;
  for (const x of extra.splice(0)) await x.stop();
});

const ALICE = 555000111;
const open = { dmPolicy: "open" as const, allowFrom: ["*"] };

describe("a rejected token", () => {
  test("401 from getMe blocks that account (shown in status and probe) while the host and other accounts keep working", async () => {
    const tg = new FakeTelegram().start();
    extra.push(tg);
    tg.tokens.set("222:SECOND", { id: 222, username: "second_bot", first_name: "Second" });
    h = await startHarness({
      fakeTelegram: tg,
      telegram: { botToken: "999:revoked", accounts: { work: { botToken: "222:SECOND", ...open } } },
    });
    const bad = h.host.supervisor("telegram", "default")!;
    await until(() => bad.state.lifecycle === "blocked", 5000, "blocked");
    expect(bad.state.running).toBe(false);
    expect(bad.state.lastError).toBe(
      'Telegram bot token unauthorized for account "default" (getMe returned 401 from Telegram; source: config token). Update channels.telegram.botToken, channels.telegram.tokenFile, or TELEGRAM_BOT_TOKEN with the current BotFather token.',
    );
    await h.logs.waitFor("auto-restart skipped, terminal disconnect");
    // No restart storm: exactly one getMe for the bad token.
    expect(tg.of("getMe", "999:revoked")).toHaveLength(1);
    expect(tg.of("getUpdates", "999:revoked")).toHaveLength(0);

    const status = (await channelsStatus(h.host, { probe: true })) as any;
    const acc = status.channelAccounts.telegram.find((a: any) => a.accountId === "default");
    expect(acc).toMatchObject({ lifecycle: "blocked", terminalDisconnect: true, healthState: "terminal-disconnect", running: false, connected: false, configured: true });
    expect(acc.probe).toMatchObject({ ok: false, status: 401, error: "Unauthorized" });
    expect(status.statusIssues).toContainEqual({ channel: "telegram", accountId: "default", kind: "runtime", message: bad.state.lastError, fix: "resolve the reported channel error, then restart the channel" });
    const work = status.channelAccounts.telegram.find((a: any) => a.accountId === "work");
    expect(work.probe).toMatchObject({ ok: true, bot: { username: "second_bot" } });

    tg.dm("still there?", { id: ALICE }, "222:SECOND");
    await tg.waitFor(() => tg.of("sendMessage", "222:SECOND").some((c) => c.body.text === "echo: still there?"));
  });

  test("fixing the token in config restarts the blocked account", async () => {
    h = await startHarness({ telegram: { botToken: "999:revoked", ...open } });
    const sup = h.host.supervisor("telegram")!;
    await until(() => sup.state.lifecycle === "blocked");
    await h.apply({ channels: { telegram: { botToken: h.telegram.token, apiRoot: h.telegram.url, ...open } } });
    await until(() => sup.state.connected, 5000, "connected");
    expect(sup.state.lastError).toBeNull();
  });
});

describe("transport failures", () => {
  test("429 with retry_after, 5xx, malformed JSON and a hang on getUpdates: backoff, then messages flow again", async () => {
    const tg = new FakeTelegram().start();
    extra.push(tg);
    tg.fail("getUpdates", { kind: "status", status: 502 }, { kind: "malformed" }, { kind: "status", status: 429, retryAfter: 1 }, { kind: "hang" });
    h = await startHarness({
      fakeTelegram: tg,
      telegram: open,
      plugins: [createTelegramPlugin({ retry: FAST, getUpdatesTimeoutMs: 300 })],
    });
    await h.logs.waitFor(/getUpdates failed \(getUpdates: 502/);
    await h.logs.waitFor(/getUpdates failed \(getUpdates: malformed response/);
    const limited = await h.logs.waitFor(/getUpdates failed \(getUpdates: 429/);
    expect(limited.message).toContain("retrying in 1000 ms");
    await h.logs.waitFor(/getUpdates failed \(getUpdates: timed out after 300 ms/, 8000);
    const sup = h.host.supervisor("telegram")!;
    expect(sup.state.lastStartAt).not.toBeNull();
    tg.dm("after the storm", { id: ALICE });
    await tg.waitFor(() => sentTo(tg, ALICE).includes("echo: after the storm"), 8000);
    expect(sup.state.connected).toBe(true);
    // The poll loop recovered on its own: the account was never restarted.
    expect(tg.of("getMe")).toHaveLength(1);
  });

  test("sendMessage: a 5xx is retried; HTML Telegram cannot parse is resent as plain text", async () => {
    const tg = new FakeTelegram().start();
    extra.push(tg);
    h = await startHarness({ fakeTelegram: tg, telegram: open });
    await tg.nth("getUpdates", 2);
    tg.fail("sendMessage", { kind: "status", status: 500 });
    tg.dm("first", { id: ALICE });
    await tg.waitFor(() => tg.of("sendMessage").length === 2);
    expect(tg.of("sendMessage").map((c) => c.body.text)).toEqual(["echo: first", "echo: first"]);
    tg.fail("sendMessage", { kind: "status", status: 400, description: "Bad Request: can't parse entities: unsupported start tag" });
    h.reply.fn = () => "**bold** <tag>";
    tg.dm("second", { id: ALICE });
    await tg.waitFor(() => tg.of("sendMessage").length === 4);
    const [refused, plain] = tg.of("sendMessage").slice(2);
    expect(refused.body).toMatchObject({ text: "<b>bold</b> &lt;tag&gt;", parse_mode: "HTML" });
    expect(plain.body.text).toBe("bold <tag>");
    expect(plain.body.parse_mode).toBeUndefined();
  });

  test("a 409 conflict (another poller) is retried, not fatal", async () => {
    const tg = new FakeTelegram().start();
    extra.push(tg);
    tg.fail("getUpdates", { kind: "status", status: 409 });
    h = await startHarness({ fakeTelegram: tg, telegram: open });
    await h.logs.waitFor(/getUpdates failed \(getUpdates: 409 Conflict/);
    tg.dm("hi", { id: ALICE });
    await tg.waitFor(() => sentTo(tg, ALICE).includes("echo: hi"));
  });
});

describe("bad input from the platform", () => {
  test("malformed updates are skipped, valid ones in the same batch are handled", async () => {
    h = await startHarness({ telegram: open });
    const tg = h.telegram;
    await tg.nth("getUpdates", 2);
    // Garbage without update_id can never be confirmed by offset: the fake drops it once the
    // client confirms a later update.
    tg.push({ update_id: 5000, message: "not an object" });
    tg.push({ update_id: 5001, message: { chat: { id: ALICE, type: "private" }, text: "no sender" } });
    tg.push({ update_id: 5002, message: { chat: { id: ALICE, type: "private" }, from: { id: ALICE }, text: 42 } });
    tg.push({ update_id: 5003, message: { chat: { id: ALICE, type: "channel" }, from: { id: ALICE }, text: "channel post" } });
    tg.push({ update_id: 5004, message: { chat: "x", from: { id: ALICE }, text: "bad chat" } });
    tg.push({ update_id: 5005, message: { chat: { id: ALICE, type: "private" }, from: { id: ALICE }, text: "x", entities: [null, 1, { type: "mention", offset: "a" }] } });
    tg.push({ update_id: 5006, edited_message: { chat: { id: ALICE, type: "private" }, text: "edited" } });
    tg.push({ update_id: 5007, callback_query: { id: "1" } });
    tg.dm("valid one", { id: ALICE });
    await tg.waitFor(() => sentTo(tg, ALICE).includes("echo: valid one"));
    expect(h.turns.map((t) => t.text)).toEqual(["x", "valid one"]);
    await until(() => h!.host.ingress.pendingCount("telegram:default") === 0, 5000, "queue drained");
  });

  test("a getUpdates result that is not an array, or holds non-objects, does not crash the poll", async () => {
    const tg = new FakeTelegram().start();
    extra.push(tg);
    h = await startHarness({ fakeTelegram: tg, telegram: open });
    await tg.nth("getUpdates", 2);
    tg.push({ update_id: 6000 }); // an update of no known type
    tg.dm("works", { id: ALICE });
    await tg.waitFor(() => sentTo(tg, ALICE).includes("echo: works"));
  });

  test("a huge message is truncated for the agent; a huge reply is split under Telegram's limit", async () => {
    h = await startHarness({ telegram: open });
    const tg = h.telegram;
    tg.dm(`${"word ".repeat(40_000)}end`, { id: ALICE });
    h.reply.fn = () => `# Report\n\n${"Lorem ipsum <dolor> & sit amet. ".repeat(600)}\n\n\`\`\`\n${"code line\n".repeat(500)}\`\`\``;
    await tg.waitFor(() => sentTo(tg, ALICE).join("").split("code line").length - 1 === 500, 8000);
    expect(h.turns[0].text.length).toBeLessThanOrEqual(16_001);
    const texts = sentTo(tg, ALICE);
    for (const t of texts) expect(t.length).toBeLessThanOrEqual(4000);
    expect(texts[0]).toStartWith("<b>Report</b>");
    // Every chunk is balanced markup: code blocks are closed in the chunk that opens them.
    for (const t of texts) expect(t.split("<pre><code>").length).toBe(t.split("</code></pre>").length);
    expect(texts.filter((t) => t.includes("<pre><code>")).length).toBeGreaterThanOrEqual(2);
    expect(texts.join("").split("code line").length - 1).toBe(500);
  });

  test("a flood is absorbed with a bounded queue: polling waits while the queue is full, nothing is lost", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    h = await startHarness({ telegram: open, host: { maxPending: 20, maxConcurrentTurns: 2 } });
    const tg = h.telegram;
    h.reply.fn = async (req) => {
      await gate;
      return `done ${req.text}`;
    };
    await tg.nth("getUpdates", 2);
    const users = 30;
    const perUser = 10;
    for (let i = 0; i < perUser; i++) for (let u = 0; u < users; u++) tg.dm(`m${i}`, { id: 1000 + u });
    await until(() => h!.host.ingress.pendingCount("telegram:default") >= 20, 5000, "queue full");
    // While the turns hold, the queue stays bounded and Telegram keeps what we did not confirm.
    const peak: number[] = [];
    for (let i = 0; i < 20; i++) {
      peak.push(h.host.ingress.pendingCount("telegram:default"));
      await Bun.sleep(5);
    }
    expect(Math.max(...peak)).toBeLessThanOrEqual(20 + 100);
    expect(tg.pending()).toBeGreaterThan(0);
    release();
    await tg.waitFor(() => tg.of("sendMessage").length === users * perUser, 20_000);
    // In order per chat.
    for (let u = 0; u < users; u++) expect(sentTo(tg, 1000 + u)).toEqual(Array.from({ length: perUser }, (_, i) => `done m${i}`));
    await until(() => h!.host.ingress.pendingCount("telegram:default") === 0, 5000, "queue drained");
  });
});

describe("durability", () => {
  test("updates committed but not handled when the gateway stops are handled after a restart; the offset resumes", async () => {
    const tg = new FakeTelegram().start();
    extra.push(tg);
    let hold = true;
    let holding: () => void = () => {};
    h = await startHarness({ fakeTelegram: tg, telegram: open });
    h.reply.fn = async (req) => {
      if (hold) await new Promise<void>((r) => (holding = r));
      return `late ${req.text}`;
    };
    await tg.nth("getUpdates", 2);
    const id = tg.dm("keep me", { id: ALICE });
    await until(() => h!.turns.length === 1, 5000, "turn started");
    // Stop while the turn is running: the event stays pending.
    const stopping = h.host.stop();
    holding();
    await stopping;
    expect(h.host.ingress.pendingCount("telegram:default")).toBe(1);
    expect(h.host.ingress.cursor("telegram:default")).toBe(String(id));

    hold = false;
    const { ChannelHost } = await import("../../src/channels/host.ts");
    const again = new ChannelHost({
      config: h.config,
      stateDir: h.stateDir,
      configPath: h.configPath,
      db: h.db,
      runTurn: async (req) => ({ text: `late ${req.text}` }),
      log: (await import("../../src/log/logger.ts")).createLogger({ level: "silent", sinks: [] }),
      plugins: [createTelegramPlugin({ retry: FAST })],
      restart: FAST,
      retry: FAST,
    });
    extra.push({ stop: () => again.stop() });
    const before = tg.of("getUpdates").length;
    await again.start();
    await tg.waitFor(() => sentTo(tg, ALICE).includes("late keep me"));
    const firstPoll = await tg.nth("getUpdates", before + 1);
    expect(firstPoll.body).toMatchObject({ timeout: 0, offset: id + 1 });
    expect(again.ingress.pendingCount("telegram:default")).toBe(0);
  });

  test("a replayed update (same update_id) is handled once", async () => {
    h = await startHarness({ telegram: open });
    const tg = h.telegram;
    await tg.nth("getUpdates", 2);
    const id = tg.dm("once", { id: ALICE });
    await tg.waitFor(() => sentTo(tg, ALICE).length === 1);
    tg.push({ update_id: id, message: tg.message({ chat: { id: ALICE, type: "private" }, from: { id: ALICE, first_name: "A" }, text: "once" }) });
    tg.dm("next", { id: ALICE });
    await tg.waitFor(() => sentTo(tg, ALICE).includes("echo: next"));
    expect(sentTo(tg, ALICE)).toEqual(["echo: once", "echo: next"]);
  });
});

describe("turn failures", () => {
  test("errorPolicy always posts the error; silent posts nothing; the account keeps running", async () => {
    h = await startHarness({ telegram: open });
    const tg = h.telegram;
    h.reply.fn = () => {
      throw new Error("model exploded");
    };
    tg.dm("boom", { id: ALICE });
    await tg.waitFor(() => sentTo(tg, ALICE).length === 1);
    expect(sentTo(tg, ALICE)[0]).toBe("⚠️ The agent could not answer: model exploded");
    await h.apply({ channels: { telegram: { botToken: tg.token, apiRoot: tg.url, ...open, errorPolicy: "silent" } } });
    tg.dm("boom again", { id: ALICE });
    await until(() => h!.logs.records.filter((r) => r.message.includes("agent turn failed for agent:main:main: model exploded")).length === 2, 5000, "second failure");
    h.reply.fn = (req) => `ok ${req.text}`;
    tg.dm("fine", { id: ALICE });
    await tg.waitFor(() => sentTo(tg, ALICE).includes("ok fine"));
    expect(sentTo(tg, ALICE)).toEqual(["⚠️ The agent could not answer: model exploded", "ok fine"]);
  });

  test("a turn that returns nothing sends nothing", async () => {
    h = await startHarness({ telegram: open });
    const tg = h.telegram;
    h.reply.fn = (req) => (req.text === "quiet" ? undefined : "loud");
    tg.dm("quiet", { id: ALICE });
    tg.dm("speak", { id: ALICE });
    await tg.waitFor(() => sentTo(tg, ALICE).length === 1);
    expect(sentTo(tg, ALICE)).toEqual(["loud"]);
  });

  test("a turn that cannot start (TurnDeferredError) stays queued and is retried; the group context it carried is kept", async () => {
    h = await startHarness({ telegram: { ...open, groups: { "-100777": { groupPolicy: "open" } } } });
    const tg = h.telegram;
    let deferrals = 0;
    h.reply.fn = (req) => {
      if (deferrals < 2) {
        deferrals++;
        throw new TurnDeferredError("session queue is full");
      }
      return `ok ${req.text}`;
    };
    tg.group(-100777, "context line", { from: { id: 777 } });
    await h.logs.waitFor("drop group message (mention required)");
    tg.group(-100777, "answer me", { mention: true, from: { id: ALICE } });
    await tg.waitFor(() => sentTo(tg, -100777).length === 1, 5000);
    expect(sentTo(tg, -100777)[0]).toContain("ok @fake_bot answer me");
    await h.logs.waitFor(/failed \(session queue is full\); retrying in/);
    // Three attempts; each got the same context (restored after a deferral), no error reply.
    expect(h.turns).toHaveLength(3);
    for (const t of h.turns) expect(t.history.map((e) => e.text)).toEqual(["context line"]);
  });
});

