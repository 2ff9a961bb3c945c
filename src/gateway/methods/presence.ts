/** `system-presence`: an array whose first entry is the gateway itself (mode gateway, reason self). */
import { defineMethod } from "./types.ts";

export const systemPresenceMethod = defineMethod("system-presence", {
  scope: "operator.read",
  handler: (_params, { ctx }) => ctx.presence.list(),
});
