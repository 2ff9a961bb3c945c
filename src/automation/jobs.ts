/**
 * Job definitions from client input: schedules, payloads and delivery as `cron.add` sends them,
 * patches as `cron.update` sends them (`null` clears a field), the target/payload rules, and the
 * definition revision. Pure functions; the scheduler applies the results.
 */
import { CronExpressionError } from "./cron-expr.ts";
import { invalidParams, invalidRequest } from "./errors.ts";
import type { DeliveryPatchInput, PayloadInput, PayloadPatchInput, ScheduleInput } from "./params.ts";
import { ScheduleError, normalizeSchedule, type Schedule } from "./schedule.ts";
import { InvalidTimeZoneError } from "./tz.ts";
import type { AgentTurnPayload, CronJob, Delivery, Payload, SessionTarget } from "./types.ts";

/** Opaque token of a job's definition (state and timestamps excluded): `sha256:<base64url>`. */
export function definitionRevision(job: CronJob): string {
  const { state: _s, createdAtMs: _c, updatedAtMs: _u, ...definition } = job;
  return `sha256:${new Bun.CryptoHasher("sha256").update(JSON.stringify(definition)).digest("base64url")}`;
}

/**
 * A client's schedule, normalized. Bad expressions and zones answer `invalid <method> params:
 * …`; `schedule.at` problems keep the original's bare wording.
 */
export function scheduleFromInput(method: string, input: ScheduleInput, now: number): Schedule {
  if (input.kind === "on-exit" || input.kind === "stream") {
    throw invalidRequest(`schedule.kind "${input.kind}" is not supported by this gateway (supported: at, every, cron)`);
  }
  try {
    return normalizeSchedule(input, now);
  } catch (err) {
    if (err instanceof CronExpressionError || err instanceof InvalidTimeZoneError) throw invalidParams(method, err.message);
    if (err instanceof ScheduleError) {
      if (input.kind === "at") throw invalidRequest(err.message);
      throw invalidParams(method, err.message);
    }
    throw err;
  }
}

function checkPayloadKind(kind: string): void {
  if (kind === "command" || kind === "script") {
    throw invalidRequest(`payload.kind "${kind}" is not supported by this gateway (supported: systemEvent, agentTurn)`);
  }
}

/** Main-session jobs carry system events; every other target runs agent turns. */
export function checkTargetAndPayload(method: string, target: SessionTarget, payload: Payload, delivery: Delivery | undefined, sessionKey: string | undefined): void {
  if (target === "main") {
    if (payload.kind !== "systemEvent") throw invalidParams(method, 'main cron jobs require payload.kind="systemEvent" or "script"');
    if (delivery && delivery.mode === "announce") {
      throw invalidRequest("main-session jobs deliver through the main session; use an isolated job with announce delivery for chat output");
    }
    return;
  }
  if (payload.kind !== "agentTurn") {
    throw invalidRequest(`isolated cron jobs require payload.kind="agentTurn", "command", or "script"; script payloads do not support current/session targets`);
  }
  if (target === "current" && !sessionKey) throw invalidParams(method, 'sessionTarget "current" requires sessionKey');
}

/** Operator-created agent turns without an explicit tool list store the unrestricted `*` policy. */
export function payloadFromInput(input: PayloadInput): Payload {
  checkPayloadKind(input.kind);
  if (input.kind === "systemEvent") return { kind: "systemEvent", text: input.text, ...(input.toolsAllow ? { toolsAllow: input.toolsAllow } : {}) };
  const p = input as AgentTurnPayload;
  const out: AgentTurnPayload = { kind: "agentTurn", message: p.message };
  for (const key of ["model", "fallbacks", "thinking", "timeoutSeconds", "allowUnsafeExternalContent", "lightContext", "toolsAllowIsDefault"] as const) {
    if (p[key] !== undefined) (out as unknown as Record<string, unknown>)[key] = p[key];
  }
  out.toolsAllow = p.toolsAllow ?? ["*"];
  return out;
}

/** Copy with the patch applied: `null` removes a field, `undefined` keeps it. */
export function mergePatch<T extends object>(current: T, patch: object): T {
  const out: Record<string, unknown> = { ...(current as Record<string, unknown>) };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (v !== undefined) out[k] = v;
  }
  return out as T;
}

/** Same kind: merged; another kind: replaced, so the patch must be a complete payload. */
export function patchPayload(current: Payload, patch: PayloadPatchInput): Payload {
  checkPayloadKind(patch.kind);
  if (current.kind === patch.kind) {
    const out = mergePatch(current as unknown as Record<string, unknown>, patch);
    if (out.kind === "agentTurn" && out.toolsAllow === undefined) out.toolsAllow = ["*"];
    return out as unknown as Payload;
  }
  if (patch.kind === "systemEvent") {
    if (!patch.text) throw invalidParams("cron.update", "at /patch/payload: must have required property 'text'");
    return { kind: "systemEvent", text: patch.text };
  }
  const p = patch as Extract<PayloadPatchInput, { kind: "agentTurn" }>;
  if (!p.message) throw invalidParams("cron.update", "at /patch/payload: must have required property 'message'");
  const out = mergePatch({} as Record<string, unknown>, p);
  out.toolsAllow ??= ["*"];
  return out as unknown as Payload;
}

export function patchDelivery(current: Delivery | undefined, patch: DeliveryPatchInput): Delivery {
  const out = mergePatch((current ?? { mode: "announce" }) as Record<string, unknown>, patch);
  if (out.mode === "webhook" && !out.to) throw invalidParams("cron.update", "at /patch/delivery: webhook delivery requires to");
  return out as unknown as Delivery;
}
