/**
 * The chat channels this gateway ships (one folder each, one `ChannelPlugin` interface).
 */
import { createDiscordPlugin } from "./discord/plugin.ts";
import { createTelegramPlugin } from "./telegram/plugin.ts";
import type { ChannelPlugin } from "./types.ts";

export function builtinChannelPlugins(): ChannelPlugin[] {
  return [createTelegramPlugin(), createDiscordPlugin()];
}
