/**
 * `last-heartbeat`, called by `openclaw status`. This gateway runs no heartbeat yet, so it
 * answers with the truthful empty value. (`channels.*` are served by the channels subsystem,
 * src/channels/subsystem.ts.)
 */
import { defineMethod } from "./types.ts";

export const lastHeartbeatMethod = defineMethod("last-heartbeat", {
  scope: "operator.read",
  handler: () => null,
});
