/**
 * Telegram webhook mode: our own listener, setWebhook with the secret, the secret-token check,
 * body limits, durable adoption before the 200, and the health path.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { createWebhookHandler } from "../../src/channels/telegram/webhook.ts";
import type { IngestEvent } from "../../src/channels/types.ts";
import { sentTo, startHarness, until, type Harness } from "./harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const SECRET = "hook-secret-123";

describe("webhook mode", () => {
  test("registers with setWebhook, rejects bad secrets and bodies, adopts updates durably", async () => {
    h = await startHarness({
      telegram: { dmPolicy: "open", allowFrom: ["*"], webhookUrl: "https://bot.example.test/telegram-webhook", webhookSecret: SECRET, webhookPort: 0 },
    });
    const tg = h.telegram;
    await tg.nth("setWebhook", 1);
    const reg = tg.of("setWebhook")[0].body;
    expect(reg.url).toBe("https://bot.example.test/telegram-webhook");
    expect(reg.secret_token).toBe(SECRET);
    expect(reg.allowed_updates).toContain("message");
    // Webhook mode neither deletes the webhook nor polls.
    expect(tg.of("deleteWebhook")).toHaveLength(0);
    expect(tg.of("getUpdates")).toHaveLength(0);
    const sup = h.host.supervisor("telegram")!;
    await until(() => sup.state.connected && typeof sup.state.extra.port === "number");
    const base = `http://127.0.0.1:${sup.state.extra.port}`;
    tg.webhook = { url: `${base}/telegram-webhook`, secret: SECRET };

    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/other`, { method: "POST" })).status).toBe(404);
    expect((await fetch(`${base}/telegram-webhook`)).status).toBe(404);
    const wrong = await tg.deliverWebhook({ message: tg.message({ chat: { id: 1, type: "private" }, from: { id: 1 }, text: "x" }) }, "wrong");
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toBe("unauthorized");
    const missing = await fetch(`${base}/telegram-webhook`, { method: "POST", body: "{}" });
    expect(missing.status).toBe(401);
    const post = (body: string) => fetch(`${base}/telegram-webhook`, { method: "POST", headers: { "x-telegram-bot-api-secret-token": SECRET, "content-type": "application/json" }, body });
    expect((await post("{not json")).status).toBe(400);
    expect((await post("[1,2]")).status).toBe(400);
    expect((await post(JSON.stringify({ message: {} }))).status).toBe(400);
    expect((await post(JSON.stringify({ update_id: 1, pad: "x".repeat(1100 * 1024) }))).status).toBe(413);

    const ok = await tg.deliverWebhook({ message: tg.message({ chat: { id: 42, type: "private" }, from: { id: 42, first_name: "W" }, text: "via webhook" }) });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-openclaw-delivery-accepted")).toBe("durable");
    await tg.waitFor(() => sentTo(tg, 42).includes("echo: via webhook"));
  });

  test("a webhook URL without a secret is a config error; a secret from an unset env var blocks the account", async () => {
    const { validateConfig } = await import("../../src/config/schema.ts");
    const res = validateConfig({ channels: { telegram: { botToken: "1:x", webhookUrl: "https://bot.example.test/hook" } } });
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.issues).toEqual([{ path: "channels.telegram.webhookSecret", message: "channels.telegram.webhookUrl requires channels.telegram.webhookSecret" }]);
    h = await startHarness({ telegram: { webhookUrl: "https://bot.example.test/hook", webhookSecret: { source: "env", id: "UNSET_WEBHOOK_SECRET_VAR" } } });
    const sup = h.host.supervisor("telegram")!;
    expect(sup.isRunning).toBe(false);
    expect(sup.state.lastError).toBe("channels.telegram.webhookUrl requires channels.telegram.webhookSecret");
    expect(h.telegram.of("getMe")).toHaveLength(0);
  });

  test("the handler alone: a failed durable write answers 500 without the acceptance header", async () => {
    const seen: IngestEvent[] = [];
    let fail = false;
    const handler = createWebhookHandler({
      path: "/hook",
      secret: "s",
      ingest: async (events) => {
        if (fail) throw new Error("disk full");
        seen.push(...events);
      },
    });
    const req = () => new Request("http://x/hook", { method: "POST", headers: { "x-telegram-bot-api-secret-token": "s" }, body: JSON.stringify({ update_id: 7, message: { chat: { id: 9 } } }) });
    const good = await handler(req());
    expect(good.status).toBe(200);
    expect(seen).toEqual([{ id: "7", lane: "9:", payload: { update_id: 7, message: { chat: { id: 9 } } } }]);
    fail = true;
    const bad = await handler(req());
    expect(bad.status).toBe(500);
    expect(bad.headers.get("x-openclaw-delivery-accepted")).toBeNull();
  });
});
