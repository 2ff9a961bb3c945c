/**
 * Bad input from the platform, at the gateway level: the channels subsystem inside a real
 * Gateway (agent lanes, session store, model provider on loopback) fed malformed and huge
 * updates, floods, a Bot API that hangs, lies or answers 5xx, and one that refuses replies.
 * The gateway must keep serving its clients, the durable queue must stay bounded, failures must
 * back off and show in status and logs, and every admitted message must reach the session store.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { FAST, sentTo, startChannelGateway, until, type ChannelGateway } from "./gateway-harness.ts";

let h: ChannelGateway | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const ALICE = 555000111;
const open = { dmPolicy: "open", allowFrom: ["*"] };

/** Rows of the durable ingress queue still to handle. */
function pending(gw: ChannelGateway): number {
  const row = gw.gw.agents.store.db.query("SELECT count(*) AS n FROM channel_ingress WHERE state = 0").get() as { n: number };
  return row.n;
}

function storedUserMessages(gw: ChannelGateway, sessionKey = "agent:main:main"): string[] {
  const rows = gw.gw.agents.store.db.query("SELECT content FROM messages WHERE session_key = ? AND role = 'user' ORDER BY seq").all(sessionKey) as Array<{ content: string }>;
  return rows.map((r) => r.content);
}

describe("bad input through the gateway", () => {
  test("malformed, oversized and huge updates are dropped or truncated; valid messages in between are answered and stored; clients keep being served", async () => {
    h = await startChannelGateway({ telegram: open });
    const tg = h.telegram;
    await tg.nth("getUpdates", 2);
    const client = await h.connect(["operator.read"]);
    tg.push({ update_id: 5000, message: "not an object" });
    tg.push({ update_id: 5001, message: { chat: null, from: { id: ALICE }, text: "bad chat" } });
    tg.push({ update_id: 5002, message: { chat: { id: ALICE, type: "private" }, from: { id: ALICE }, text: { nested: [1, 2, 3] } } });
    tg.push({ update_id: 5003 });
    tg.push({ update_id: 5004, callback_query: { id: "1", data: "x".repeat(1000) } });
    // Larger than the per-event cap: stored as a marker, never decoded.
    tg.push({ update_id: 5005, message: { chat: { id: ALICE, type: "private" }, from: { id: ALICE }, text: "y".repeat(600_000), message_id: 9 } });
    tg.dm("first valid", { id: ALICE });
    // Under the event cap but over the text cap: the agent gets it truncated.
    tg.dm(`${"word ".repeat(5_000)}end`, { id: ALICE });
    tg.dm("last valid", { id: ALICE });
    await tg.waitFor(() => sentTo(tg, ALICE).includes("echo: last valid"), 10_000);
    await h.logs.waitFor(/inbound event 5005 is \d+ bytes; stored without its payload/);
    const stored = storedUserMessages(h);
    expect(stored[0]).toBe("first valid");
    expect(stored[1].length).toBeLessThanOrEqual(16_001);
    expect(stored[1].startsWith("word word")).toBe(true);
    expect(stored[2]).toBe("last valid");
    expect(stored).toHaveLength(3);
    await until(() => pending(h!) === 0, 5_000, "queue drained");
    expect((await client.request<any>("health")).ok).toBe(true);
    expect((await client.request<any>("channels.status", {})).channelAccounts.telegram[0]).toMatchObject({ running: true, connected: true });
  });

  test("a Bot API answering 5xx, garbage or nothing on getUpdates: backoff, recovery without a restart, no message lost", async () => {
    h = await startChannelGateway({ telegram: open, telegramPlugin: { getUpdatesTimeoutMs: 300 } });
    const tg = h.telegram;
    await tg.nth("getUpdates", 2);
    tg.fail("getUpdates", { kind: "status", status: 502 }, { kind: "malformed" }, { kind: "status", status: 503 }, { kind: "hang" });
    // Queued while the platform misbehaves: delivered once polling recovers.
    tg.dm("during the outage", { id: ALICE });
    await h.logs.waitFor(/getUpdates failed \(getUpdates: 502/);
    await h.logs.waitFor(/getUpdates failed \(getUpdates: malformed response/);
    await h.logs.waitFor(/getUpdates failed \(getUpdates: timed out after 300 ms/, 8_000);
    await tg.waitFor(() => sentTo(tg, ALICE).includes("echo: during the outage"), 10_000);
    expect(tg.of("getMe")).toHaveLength(1);
    expect(storedUserMessages(h)).toEqual(["during the outage"]);
  });

  test("replies the platform keeps refusing: the turn is stored, the error shows in status and logs, the next reply clears it", async () => {
    h = await startChannelGateway({ telegram: open });
    const tg = h.telegram;
    await tg.nth("getUpdates", 2);
    const c = await h.connect(["operator.read"]);
    tg.fail("sendMessage", ...Array.from({ length: 3 }, () => ({ kind: "status" as const, status: 500 })));
    tg.dm("unlucky", { id: ALICE });
    const warn = await h.logs.waitFor(/reply to 555000111 failed/, 10_000);
    expect(warn.level).toBe("warn");
    expect(storedUserMessages(h)).toEqual(["unlucky"]);
    const acc = (await c.request<any>("channels.status", {})).channelAccounts.telegram[0];
    expect(acc.lastError).toContain("reply to 555000111 failed");
    expect(acc.running).toBe(true);
    tg.dm("lucky", { id: ALICE });
    await tg.waitFor(() => sentTo(tg, ALICE).includes("echo: lucky"));
    // The client records the call before our side has read the answer: wait for it (bounded).
    const deadline = Date.now() + 5_000;
    while ((await c.request<any>("channels.status", {})).channelAccounts.telegram[0].lastError !== null) {
      if (Date.now() > deadline) throw new Error("lastError not cleared after a successful reply");
      await Bun.sleep(10);
    }
  });

  test("a flood through one account: polling waits while the durable queue is full, every message is answered in order and stored", async () => {
    h = await startChannelGateway({ telegram: open, host: { maxPending: 20, maxConcurrentTurns: 2, retry: FAST } });
    const tg = h.telegram;
    await tg.nth("getUpdates", 2);
    const users = 20;
    const perUser = 10;
    for (let i = 0; i < perUser; i++) for (let u = 0; u < users; u++) tg.dm(`m${i}`, { id: 1000 + u });
    let peak = 0;
    let backlogSeen = false;
    const deadline = Date.now() + 60_000;
    while (tg.of("sendMessage").length < users * perUser) {
      if (Date.now() > deadline) throw new Error(`flood not answered: ${tg.of("sendMessage").length} of ${users * perUser}`);
      peak = Math.max(peak, pending(h));
      if (tg.pending() > 0 && pending(h) >= 20) backlogSeen = true;
      await Bun.sleep(2);
    }
    // One getUpdates batch (at most 100) can land on a queue just under its bound.
    expect(peak).toBeLessThanOrEqual(20 + 100);
    expect(backlogSeen).toBe(true);
    for (let u = 0; u < users; u++) expect(sentTo(tg, 1000 + u)).toEqual(Array.from({ length: perUser }, (_, i) => `echo: m${i}`));
    // All DMs share the main session: every message and every reply is in the store.
    const stored = storedUserMessages(h);
    expect(stored).toHaveLength(users * perUser);
    const count = h.gw.agents.store.db.query("SELECT count(*) AS n FROM messages WHERE session_key = 'agent:main:main'").get() as { n: number };
    expect(count.n).toBe(2 * users * perUser);
    await until(() => pending(h!) === 0, 5_000, "queue drained");
  }, 90_000);

  test("Discord: malformed and huge dispatches and a REST 5xx do not stop the account; valid messages are answered and stored", async () => {
    const DM_CHANNEL = "300000000000000099";
    const USER = "800000000000000001";
    h = await startChannelGateway({ telegram: false, discord: { dmPolicy: "open", allowFrom: ["*"] } });
    const d = h.discord!;
    d.addDmChannel(DM_CHANNEL, USER);
    await d.waitFor(() => d.received(2).length === 1);
    await until(() => (h!.gw.health({ fresh: true }).channels as any).discord?.connected === true, 5_000, "discord connected");
    d.dispatch("MESSAGE_CREATE", null);
    d.dispatch("MESSAGE_CREATE", { id: "1", channel_id: DM_CHANNEL, author: "nobody", content: 5 });
    d.dispatch("MESSAGE_CREATE", { id: "2", channel_id: { x: 1 }, author: { id: USER }, content: "bad channel" });
    d.dispatch("SOMETHING_ELSE", { whatever: true });
    d.message({ channelId: DM_CHANNEL, content: "z".repeat(300_000), author: { id: USER } });
    d.fail(`POST /channels/${DM_CHANNEL}/messages`, { kind: "status", status: 502 });
    d.message({ channelId: DM_CHANNEL, content: "valid one", author: { id: USER } });
    expect(await d.waitFor(() => d.postedTo(DM_CHANNEL).includes("echo: valid one"), 10_000)).toBe(true);
    expect(storedUserMessages(h)).toEqual(["valid one"]);
    expect(d.received(2)).toHaveLength(1);
    expect((h.gw.health({ fresh: true }).channels as any).discord).toMatchObject({ running: true, connected: true });
  });
});
