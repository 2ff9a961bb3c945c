/**
 * DM pairing around the store: the reply an unknown sender gets, the approval notice, and the
 * first-owner bootstrap (`commands.ownerAllowFrom`) written into the config file.
 *
 * The reply text is the original's, line for line (its rendering per platform is the channel's
 * business): who you are, the code, and the exact command the owner runs.
 */
import { readConfigFile } from "../config/load.ts";
import type { OpenClawConfig } from "../config/schema.ts";
import { writeConfigDocument } from "../config/write.ts";
import type { Env } from "./types.ts";

export const APPROVAL_NOTICE = "✅ OpenClaw access approved. Send a message to start chatting.";

export function buildPairingReply(channel: string, idLine: string, code: string): string {
  return [
    "OpenClaw: access not configured.",
    "",
    idLine,
    "Pairing code:",
    "```",
    code,
    "```",
    "",
    "Ask the bot owner to approve with:",
    "```",
    `openclaw pairing approve ${channel} ${code}`,
    "```",
  ].join("\n");
}

function ownerEntries(raw: unknown): string[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((v) => (typeof v === "string" || typeof v === "number" ? String(v).trim() : "")).filter(Boolean);
}

/** True when `commands.ownerAllowFrom` names at least one owner. */
export function hasCommandOwner(cfg: OpenClawConfig | Record<string, unknown>): boolean {
  const commands = (cfg as { commands?: { ownerAllowFrom?: unknown } }).commands;
  return ownerEntries(commands?.ownerAllowFrom).length > 0;
}

export type OwnerBootstrap = "configured" | "already-configured" | "unavailable";

/**
 * Record `<channel>:<senderId>` as the first command owner when none is configured. Later
 * approvals never add owners. Reads and writes the config file itself (atomic, with backup).
 */
export async function bootstrapCommandOwner(configPath: string, channel: string, senderId: string, env: Env = process.env): Promise<{ status: OwnerBootstrap; entry: string }> {
  const entry = `${channel}:${senderId}`;
  const file = await readConfigFile(configPath);
  const doc = (file.parsed ?? {}) as Record<string, any>;
  if (hasCommandOwner(doc)) return { status: "already-configured", entry };
  const commands = doc.commands && typeof doc.commands === "object" && !Array.isArray(doc.commands) ? { ...doc.commands } : {};
  commands.ownerAllowFrom = [entry];
  await writeConfigDocument(configPath, { ...doc, commands }, { env });
  return { status: "configured", entry };
}
