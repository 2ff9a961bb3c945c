/**
 * How an admitted chat message is written into the agent's conversation: a DM is the text as
 * sent; a group turn carries the unmentioned messages since the bot last spoke there (as
 * context) and the current message, each line labelled with its sender, under the headers the
 * group docs describe.
 */
import type { TurnRequest } from "./types.ts";

export const CONTEXT_HEADER = "[Chat messages since your last reply - for context]";
export const CURRENT_HEADER = "[Current message - respond to this]";

function who(name: string | undefined, id: string): string {
  return name && name !== id ? `${name} (${id})` : id;
}

/** The user message a channel turn appends to the session transcript. */
export function inboundText(req: Pick<TurnRequest, "chat" | "sender" | "text" | "history">): string {
  if (req.chat.kind === "direct") return req.text;
  const senderName = req.sender.name || req.sender.username;
  const current = `${who(senderName, req.sender.id)}: ${req.text}`;
  if (req.history.length === 0) return current;
  const context = req.history.map((e) => `${who(e.sender, e.senderId)}: ${e.text}`);
  return [CONTEXT_HEADER, ...context, "", CURRENT_HEADER, current].join("\n");
}
