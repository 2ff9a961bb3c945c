/**
 * Telegram webhook mode: Telegram POSTs each update to `webhookUrl`; a reverse proxy forwards it
 * to our listener (`webhookHost:webhookPort`, default 127.0.0.1:8787, path `webhookPath`,
 * default `/telegram-webhook`; `/healthz` is reserved for health checks).
 *
 * A request is accepted only with the right `X-Telegram-Bot-Api-Secret-Token` (constant-time
 * comparison; otherwise 401 `unauthorized`), a body of at most 1 MiB (413) that is a JSON update
 * (400). The update is committed to the durable queue before the empty 200 goes back, marked
 * `x-openclaw-delivery-accepted: durable` so proxies can tell real adoption from a generic 200.
 *
 * `createWebhookHandler` is the same logic as a plain `Request → Response` function, for a
 * gateway that prefers to mount the route on its own server.
 */
import type { AccountContext, IngestEvent } from "../types.ts";
import { backoffMs, BodyTooLargeError, describeError, readTextLimited, safeEqual, sleep, type BackoffPolicy } from "../util.ts";
import { TelegramApiError } from "./api.ts";
import type { TelegramClient } from "./client.ts";
import { ALLOWED_UPDATES, laneOf, unauthorized } from "./common.ts";

export const WEBHOOK_DEFAULT_PATH = "/telegram-webhook";
export const WEBHOOK_HEALTH_PATH = "/healthz";
export const WEBHOOK_MAX_BODY_BYTES = 1024 * 1024;
export const ACCEPTED_HEADER = "x-openclaw-delivery-accepted";
const REGISTER_RETRY: BackoffPolicy = { initialMs: 5_000, maxMs: 60_000, factor: 2, jitter: 0.2 };
const TEXT = { "content-type": "text/plain; charset=utf-8" };

export interface WebhookHandlerOptions {
  path: string;
  secret: string;
  ingest: (events: IngestEvent[]) => Promise<void>;
  onError?: (message: string) => void;
}

export function createWebhookHandler(opts: WebhookHandlerOptions): (req: Request) => Promise<Response> {
  return async (req) => {
    const url = new URL(req.url);
    if (url.pathname === WEBHOOK_HEALTH_PATH) return new Response("ok", { status: 200, headers: TEXT });
    if (url.pathname !== opts.path || req.method !== "POST") return new Response(null, { status: 404 });
    if (!safeEqual(req.headers.get("x-telegram-bot-api-secret-token"), opts.secret)) {
      return new Response("unauthorized", { status: 401, headers: { ...TEXT, connection: "close" } });
    }
    let text: string;
    try {
      text = await readTextLimited(new Response(req.body, { headers: req.headers }), WEBHOOK_MAX_BODY_BYTES);
    } catch (err) {
      if (err instanceof BodyTooLargeError) return new Response("payload too large", { status: 413, headers: TEXT });
      return new Response("bad request", { status: 400, headers: TEXT });
    }
    let update: any;
    try {
      update = JSON.parse(text);
    } catch {
      return new Response("invalid JSON", { status: 400, headers: TEXT });
    }
    if (!update || typeof update !== "object" || Array.isArray(update) || !Number.isSafeInteger(update.update_id)) {
      return new Response("not a Telegram update", { status: 400, headers: TEXT });
    }
    try {
      await opts.ingest([{ id: String(update.update_id), lane: laneOf(update), payload: update }]);
    } catch (err) {
      opts.onError?.(`webhook request failed: ${describeError(err)}`);
      return new Response(null, { status: 500 });
    }
    return new Response(null, { status: 200, headers: { ...TEXT, [ACCEPTED_HEADER]: "durable" } });
  };
}

/** Listen, register with `setWebhook`, serve until the account stops. */
export async function serveWebhook(ctx: AccountContext, client: TelegramClient): Promise<void> {
  const { account, log, signal } = ctx;
  const cfg = account.config;
  const path = typeof cfg.webhookPath === "string" && cfg.webhookPath.trim() ? cfg.webhookPath.trim() : WEBHOOK_DEFAULT_PATH;
  if (path === WEBHOOK_HEALTH_PATH) throw new Error(`Telegram webhook path "${path}" conflicts with the health path.`);
  const secret = String(cfg.webhookSecret ?? "");
  if (!secret) throw new Error("Telegram webhook mode requires a non-empty secret token. Set channels.telegram.webhookSecret in your config.");
  const host = typeof cfg.webhookHost === "string" && cfg.webhookHost.trim() ? cfg.webhookHost.trim() : "127.0.0.1";
  const port = typeof cfg.webhookPort === "number" ? cfg.webhookPort : 8787;
  const handler = createWebhookHandler({ path, secret, ingest: (events) => ctx.ingest(events), onError: (m) => log.warn(`[${account.accountId}] ${m}`) });
  const server = Bun.serve({ hostname: host, port, development: false, maxRequestBodySize: WEBHOOK_MAX_BODY_BYTES + 1024, fetch: handler });
  try {
    const publicUrl = String(cfg.webhookUrl);
    ctx.status({ port: server.port, webhookUrl: publicUrl, webhookPath: path });
    for (let attempt = 1; !signal.aborted; attempt++) {
      try {
        await client.api.call("setWebhook", { url: publicUrl, secret_token: secret, allowed_updates: ALLOWED_UPDATES }, { signal, attempts: 1 });
        log.info(`[${account.accountId}] webhook advertised to telegram on ${publicUrl}`);
        ctx.status({ connected: true });
        break;
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof TelegramApiError && err.errorCode === 401) throw unauthorized(account, "setWebhook");
        if (err instanceof TelegramApiError && err.errorCode >= 400 && err.errorCode < 429) throw err;
        const delay = backoffMs(REGISTER_RETRY, attempt);
        log.warn(`[${account.accountId}] setWebhook failed (${describeError(err)}); retrying in ${delay} ms`);
        ctx.status({ lastError: describeError(err) });
        await sleep(delay, signal).catch(() => {});
      }
    }
    if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
  } finally {
    await server.stop(true);
  }
}
