/** `logs.tail`: read the gateway's own file log by cursor (see src/log/tail.ts). */
import { ErrorCodes, RpcError } from "../../protocol/errors.ts";
import { tailFile } from "../../log/tail.ts";
import { defineMethod } from "./types.ts";

export const logsTailMethod = defineMethod("logs.tail", {
  scope: "operator.read",
  handler: async (params, { ctx }) => {
    if (!ctx.logFile) throw new RpcError(ErrorCodes.UNAVAILABLE, "file logging is disabled on this gateway");
    return tailFile(ctx.logFile, params);
  },
});
