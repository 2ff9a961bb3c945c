/**
 * Where a finished run's output goes: the announce route to a chat channel (through the
 * injected delivery function), a webhook, or nowhere; the intentional-silence rules; the
 * dry-run route preview; and the failure-alert policy and its notices.
 */
import { NO_CHANNEL_ERROR } from "./errors.ts";
import type { CompletionStatus, CronJob, Delivery, DeliveryStatus, DeliveryTrace, FailureAlert } from "./types.ts";

export interface DeliveryRequest {
  jobId: string;
  runId?: string;
  agentId: string;
  /** "last" = the conversation the job's session (or the agent's main session) last had. */
  channel: string;
  to?: string;
  accountId?: string;
  threadId?: string | number;
  /** The job's own session (`session:<key>` target or `sessionKey`), where `last` is read first. */
  sessionKey?: string;
  text: string;
  /** Why this message goes out: the run's output, a failure alert or a recovery notice. */
  purpose: "result" | "failure-alert" | "recovery";
}

export interface DeliveryResult {
  /** false when the route could not be resolved (nothing was sent). */
  resolved: boolean;
  delivered: boolean;
  channel?: string;
  to?: string;
  accountId?: string;
  threadId?: string | number;
  error?: string;
  /** The send may or may not have reached the recipient. */
  uncertain?: boolean;
}

/** Sends a message to a chat channel target. Absent while the gateway has no channels. */
export type DeliverFn = (req: DeliveryRequest) => Promise<DeliveryResult>;

/** The route part of a delivery request (no text, no job). */
export type RoutePreviewRequest = Pick<DeliveryRequest, "agentId" | "channel" | "to" | "accountId" | "threadId" | "sessionKey">;

/** Resolves an announce route without sending, for delivery previews. */
export type RoutePreviewFn = (req: RoutePreviewRequest) =>
  | { ok: true; channel: string; to?: string; accountId?: string; source: "explicit" | "last" }
  | { ok: false; error: string };

/** POSTs a webhook delivery; absent = webhook delivery unavailable. */
export type WebhookFn = (req: { url: string; body: unknown }) => Promise<{ ok: boolean; status?: number; error?: string }>;

export interface DeliveryDeps {
  deliver?: DeliverFn;
  previewRoute?: RoutePreviewFn;
  postWebhook?: WebhookFn;
}

export interface DeliveryOutcome {
  delivered: boolean;
  deliveryStatus: DeliveryStatus;
  completion: CompletionStatus;
  deliveryError?: string;
  suppression?: "empty" | "silent";
  trace?: DeliveryTrace;
  /** A route that could not be resolved fails the run (unless best-effort), as the original. */
  failsRun?: boolean;
}

const SILENT_TOKEN = "NO_REPLY";

/** `NO_REPLY` (any case, optional edge punctuation or quotes): intentional silence. */
export function isSilentReply(text: string): boolean {
  const t = text.trim().replace(/^["'`*_\s]+|["'`*_.!\s]+$/g, "");
  return t.toUpperCase() === SILENT_TOKEN;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}

/** The session a job's `last` delivery reads first: its `session:<key>` target, else its `sessionKey`. */
export function deliverySessionKey(job: Pick<CronJob, "sessionTarget" | "sessionKey">): string | undefined {
  if (job.sessionTarget.startsWith("session:")) {
    const key = job.sessionTarget.slice("session:".length).trim();
    if (key) return key;
  }
  return job.sessionKey?.trim() || undefined;
}

export function routeIntent(d: Delivery): NonNullable<DeliveryTrace["intended"]> {
  const channel = d.channel ?? "last";
  const intended: NonNullable<DeliveryTrace["intended"]> = { channel, to: d.to ?? null, source: channel === "last" ? "last" : "explicit" };
  if (d.accountId) intended.accountId = d.accountId;
  if (d.threadId !== undefined) intended.threadId = d.threadId;
  return intended;
}

/**
 * Deliver a run's final text as the job's `delivery` asks. Silence and empty output are not
 * sent; an unresolvable route fails the run; a failed send only fails its completion; best
 * effort makes delivery failures non-fatal.
 */
export async function deliverRunResult(deps: DeliveryDeps, req: { job: CronJob; agentId: string; text: string; runId?: string }): Promise<DeliveryOutcome> {
  const { job, text } = req;
  const d = job.delivery;
  if (!d) return { delivered: false, deliveryStatus: "not-requested", completion: "succeeded" };
  const intended = routeIntent(d);
  if (d.mode === "none") {
    return { delivered: false, deliveryStatus: "not-requested", completion: "succeeded", trace: { intended, fallbackUsed: false, delivered: false } };
  }
  const suppressed = !text.trim() ? "empty" : isSilentReply(text) ? "silent" : undefined;
  if (suppressed) {
    return { delivered: false, deliveryStatus: "not-delivered", completion: "succeeded", suppression: suppressed, trace: { intended, fallbackUsed: false, delivered: false } };
  }
  const best = d.bestEffort === true;
  const unresolved = (error: string): DeliveryOutcome => ({
    delivered: false,
    deliveryStatus: "not-delivered",
    completion: best ? "succeeded" : "failed",
    deliveryError: error,
    failsRun: !best,
    trace: { intended, resolved: { ok: false, to: null, source: intended.source, error }, fallbackUsed: false, delivered: false },
  });
  if (d.mode === "webhook") {
    if (!deps.postWebhook) return unresolved("webhook delivery is not available on this gateway");
    const res = await deps.postWebhook({ url: d.to!, body: { jobId: job.id, runId: req.runId, summary: text } }).catch((e) => ({ ok: false, error: errorMessage(e) }));
    return res.ok
      ? { delivered: true, deliveryStatus: "delivered", completion: "succeeded", trace: { intended: { to: d.to, source: "explicit" }, delivered: true } }
      : { delivered: false, deliveryStatus: "not-delivered", completion: best ? "succeeded" : "failed", deliveryError: res.error ?? `webhook answered ${"status" in res ? res.status : "an error"}` };
  }
  if (!deps.deliver) return unresolved(NO_CHANNEL_ERROR);
  let res: DeliveryResult;
  try {
    res = await deps.deliver({
      jobId: job.id,
      runId: req.runId,
      agentId: req.agentId,
      channel: intended.channel!,
      to: d.to,
      accountId: d.accountId,
      threadId: d.threadId,
      sessionKey: deliverySessionKey(job),
      text,
      purpose: "result",
    });
  } catch (err) {
    res = { resolved: true, delivered: false, error: errorMessage(err), uncertain: true };
  }
  if (!res.resolved) return unresolved(res.error ?? NO_CHANNEL_ERROR);
  const resolved: NonNullable<DeliveryTrace["resolved"]> = { ok: true, channel: res.channel ?? intended.channel, to: res.to ?? d.to ?? null };
  if (res.accountId) resolved.accountId = res.accountId;
  if (res.threadId !== undefined) resolved.threadId = res.threadId;
  resolved.source = intended.source;
  // The runner's own send (the agent did not deliver it itself) is the fallback delivery.
  if (res.delivered) {
    return { delivered: true, deliveryStatus: "delivered", completion: "succeeded", trace: { intended, resolved, fallbackUsed: true, delivered: true } };
  }
  return {
    delivered: false,
    deliveryStatus: res.uncertain ? "unknown" : "not-delivered",
    completion: best ? "succeeded" : res.uncertain ? "unknown" : "failed",
    deliveryError: res.error ?? "delivery failed",
    trace: { intended, resolved, fallbackUsed: true, delivered: false },
  };
}

/** `channel:to`, `channel` or `last`, as previews name a target. */
function formatTarget(channel: string | undefined, to: string | undefined | null): string {
  if (!channel) return "last";
  return to ? `${channel}:${to}` : channel;
}

/** Dry-run delivery route (`deliveryPreview`), labelled and detailed as the original does. */
export function deliveryPreview(deps: DeliveryDeps, job: CronJob, agentId: string): { label: string; detail: string } {
  const d = job.delivery;
  const explicitTarget = Boolean(d && ((d.channel && d.channel !== "last") || d.to || d.threadId !== undefined || d.accountId));
  if (!d || (d.mode === "none" && !explicitTarget)) return { label: "not requested", detail: "not requested" };
  if (d.mode === "webhook") return { label: d.to ? `webhook:${d.to}` : "webhook", detail: d.to ? "webhook" : "webhook target missing" };
  const requested = d.channel ?? "last";
  const sessionKey = deliverySessionKey(job);
  const preview = deps.previewRoute?.({ agentId, channel: requested, to: d.to, accountId: d.accountId, threadId: d.threadId, sessionKey }) ?? {
    ok: false as const,
    error: NO_CHANNEL_ERROR,
  };
  if (!preview.ok) {
    const detail =
      d.mode === "none"
        ? `message tool target unresolved: ${preview.error}`
        : requested === "last"
          ? `last -> no route, will fail-closed: ${preview.error}`
          : preview.error;
    return { label: `${d.mode} -> ${formatTarget(requested, d.to)}`, detail };
  }
  const detail = requested !== "last" ? "explicit" : sessionKey ? `resolved from last, session ${sessionKey}` : "resolved from last, main session";
  return { label: `${d.mode} -> ${formatTarget(preview.channel, preview.to)}`, detail };
}

// --- failure alerts -------------------------------------------------------------------------------

export type GlobalFailureAlert = {
  enabled?: boolean;
  after?: number;
  cooldownMs?: number;
  includeSkipped?: boolean;
  mode?: "announce" | "webhook";
  channel?: string;
  to?: string;
  accountId?: string;
};

export interface AlertRoute {
  channel: string;
  to?: string;
  accountId?: string;
  mode: "announce" | "webhook";
}

export interface AlertPolicy {
  after: number;
  cooldownMs: number;
  includeSkipped: boolean;
  route?: AlertRoute;
  /** The route is not the job's own (failing) announce target: delivery failures may use it. */
  alternate: boolean;
}

/**
 * The job's failure-alert policy, or undefined when alerts are off for it: route fields from
 * the job's `failureAlert`, then `delivery.failureDestination` over the global
 * `cron.failureAlert`, then the job's announce target. Defaults: after 2, cooldown 1 h.
 */
export function failureAlertPolicy(job: CronJob, global: GlobalFailureAlert | undefined): AlertPolicy | undefined {
  if (job.failureAlert === false) return undefined;
  const own = job.failureAlert && typeof job.failureAlert === "object" ? (job.failureAlert as FailureAlert) : undefined;
  if (!own && global?.enabled === false) return undefined;
  if (!own && job.delivery?.bestEffort) return undefined;
  const fd = job.delivery?.failureDestination;
  const pick = <K extends "channel" | "to" | "accountId" | "mode">(k: K) => own?.[k] ?? fd?.[k] ?? global?.[k];
  let route: AlertRoute | undefined;
  const channel = pick("channel");
  const to = pick("to");
  const mode = (pick("mode") ?? "announce") as "announce" | "webhook";
  if (channel || to) route = { channel: channel ?? "last", to, accountId: pick("accountId"), mode };
  else if (job.delivery?.mode === "announce") route = { channel: job.delivery.channel ?? "last", to: job.delivery.to, accountId: job.delivery.accountId, mode: "announce" };
  if (!route && !own && !global) return undefined;
  return {
    after: own?.after ?? global?.after ?? 2,
    cooldownMs: own?.cooldownMs ?? global?.cooldownMs ?? 3_600_000,
    includeSkipped: own?.includeSkipped ?? global?.includeSkipped ?? false,
    route,
    alternate: route !== undefined && !samePrimaryTarget(job.delivery, route),
  };
}

/** Whether an alert route is the job's own announce (or webhook) target. */
function samePrimaryTarget(d: Delivery | undefined, route: AlertRoute): boolean {
  if (!d || d.mode === "none") return false;
  if (route.mode === "webhook") return d.mode === "webhook" && d.to === route.to;
  if (d.mode !== "announce") return false;
  return (d.channel ?? "last") === route.channel && d.to === route.to && d.accountId === route.accountId && d.threadId === undefined;
}

/** Send a failure or recovery notice; resolves true when it was delivered. */
export function sendNotice(
  deps: DeliveryDeps,
  req: { job: CronJob; agentId: string; route: AlertRoute; text: string; purpose: DeliveryRequest["purpose"] },
): Promise<boolean> {
  const { route, job } = req;
  if (route.mode === "webhook") {
    if (!deps.postWebhook || !route.to) return Promise.resolve(false);
    return deps.postWebhook({ url: route.to, body: { jobId: job.id, kind: req.purpose, text: req.text, runAtMs: job.state.lastRunAtMs } }).then((r) => r.ok);
  }
  if (!deps.deliver) return Promise.resolve(false);
  return deps
    .deliver({
      jobId: job.id,
      agentId: req.agentId,
      channel: route.channel,
      to: route.to,
      accountId: route.accountId,
      sessionKey: deliverySessionKey(job),
      text: req.text,
      purpose: req.purpose,
    })
    .then((r) => r.delivered);
}
