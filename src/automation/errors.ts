/**
 * Wire errors of the automation methods, worded as the original answers them (the CLI prints
 * these messages to users). Built on the protocol's RpcError so a method handler can throw
 * them as they are.
 */
import { ErrorCodes, Messages, RpcError } from "../protocol/errors.ts";

const NOT_FOUND_HINT =
  "List automations and retry with a current job id. For cross-session management, use a fresh authenticated configured channel owner or Control UI administrator turn or the Automations page.";

/** `cron.get` words it "cron job not found"; the mutating methods say "Automation not found". */
export function jobNotFound(jobId: string, method: "get" | "other" = "other"): RpcError {
  const lead = method === "get" ? "cron job not found" : "Automation not found";
  return new RpcError(ErrorCodes.INVALID_REQUEST, `${lead}: ${jobId}. ${NOT_FOUND_HINT}`, { code: "CRON_JOB_NOT_FOUND", jobId });
}

/** `invalid <method> params: <detail>` (INVALID_REQUEST). */
export function invalidParams(method: string, detail: string): RpcError {
  return new RpcError(ErrorCodes.INVALID_REQUEST, Messages.invalidParams(method, detail));
}

/** A request error whose message is shown as is (schedule.at problems, policy refusals). */
export function invalidRequest(message: string, details?: unknown): RpcError {
  return new RpcError(ErrorCodes.INVALID_REQUEST, message, details);
}

export function unavailable(message: string, details?: unknown): RpcError {
  return new RpcError(ErrorCodes.UNAVAILABLE, message, details);
}

/** The route error an announce delivery gets while the gateway has no chat channel. */
export const NO_CHANNEL_ERROR =
  "Channel is required (no configured channels detected). Run openclaw channels add to configure one, or pass --channel <channel> after enabling a channel. Use openclaw channels list --all to see available channel ids. Set delivery.channel explicitly or use a main session with a previous channel.";

export const RUN_INTERRUPTED_ERROR = "cron: job interrupted by gateway restart";
export const RUN_OVERRUN_ERROR = "cron: previous run still in progress; this slot was skipped";
export const timedOutError = (ms: number) => `cron: job execution timed out after ${Math.round(ms / 1000)}s`;
