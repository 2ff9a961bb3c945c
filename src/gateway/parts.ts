/**
 * The long-lived parts `openclaw gateway` hosts, in start order (they stop in reverse). A part
 * is a Subsystem (src/gateway/subsystem.ts; docs/architecture.md shows one); add yours here.
 */
import { automationSubsystem } from "../automation/subsystem.ts";
import { channelsSubsystem } from "../channels/subsystem.ts";
import { controlUiSubsystem } from "./control-ui.ts";
import type { Subsystem } from "./subsystem.ts";

export function gatewayParts(): Subsystem[] {
  return [
    channelsSubsystem(),
    controlUiSubsystem(),
    // Channel delivery is not wired yet: automationSubsystem({ channels }) is the seam.
    automationSubsystem(),
  ];
}
