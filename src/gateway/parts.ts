/**
 * The long-lived parts `openclaw gateway` hosts, in start order (they stop in reverse). A part
 * is a Subsystem (src/gateway/subsystem.ts; docs/architecture.md shows one); add yours here.
 */
import { automationSubsystem } from "../automation/subsystem.ts";
import { channelsSubsystem } from "../channels/subsystem.ts";
import { controlUiSubsystem } from "./control-ui.ts";
import type { Subsystem } from "./subsystem.ts";

export function gatewayParts(): Subsystem[] {
  const channels = channelsSubsystem();
  return [
    channels,
    controlUiSubsystem(),
    // Cron announces, failure notices and heartbeat alerts go out through the channel host.
    automationSubsystem({ channels: channels.automation }),
  ];
}
