/** `api: "anthropic-messages"`: `POST {baseUrl}/v1/messages` with `x-api-key` (baseUrl without `/v1`). */
import { compact, joinUrl, num, safeJsonObject, withoutV1, type Adapter } from "./adapter.ts";
import { ProviderError } from "./errors.ts";
import type { SseEvent } from "./wire.ts";
import type { FinishReason, Message, ModelCall, ModelEvent, ModelResult, ToolCall } from "./types.ts";
import { zeroUsage } from "./types.ts";

export const ANTHROPIC_VERSION = "2023-06-01";
const DEFAULT_MAX_TOKENS = 4096;

function toMessages(messages: Message[]): unknown[] {
  const out: Array<{ role: string; content: unknown[] }> = [];
  const push = (role: string, block: unknown) => {
    const last = out[out.length - 1];
    if (last && last.role === role) last.content.push(block);
    else out.push({ role, content: [block] });
  };
  for (const m of messages) {
    if (m.role === "user") push("user", { type: "text", text: m.content });
    else if (m.role === "tool") push("user", { type: "tool_result", tool_use_id: m.toolCallId, content: m.content });
    else {
      if (m.content) push("assistant", { type: "text", text: m.content });
      for (const t of m.toolCalls ?? []) push("assistant", { type: "tool_use", id: t.id, name: t.name, input: safeJsonObject(t.arguments) });
    }
  }
  return out;
}

function stopReason(v: unknown): FinishReason | undefined {
  if (v === "max_tokens") return "length";
  if (v === "tool_use") return "tool_calls";
  if (typeof v === "string") return "stop";
  return undefined;
}

function errorFrom(v: any): ProviderError {
  const type = String(v?.error?.type ?? "");
  const message = String(v?.error?.message ?? "upstream error");
  if (type === "overloaded_error") return new ProviderError("overloaded", message);
  if (type === "rate_limit_error") return new ProviderError("rate_limit", message);
  if (type === "authentication_error") return new ProviderError("auth", message);
  if (type === "invalid_request_error") return new ProviderError("format", message);
  return new ProviderError("server_error", message);
}

export const anthropicMessages: Adapter = {
  streamFormat: "sse",
  chatRequest(call: ModelCall, stream: boolean) {
    const p = call.params;
    const choice = call.toolChoice;
    let toolChoice: unknown;
    if (call.tools?.length && choice !== undefined) {
      toolChoice =
        choice === "auto" ? { type: "auto" } : choice === "required" ? { type: "any" } : choice === "none" ? { type: "none" } : { type: "tool", name: choice.name };
    }
    const body = compact({
      model: call.model,
      system: call.system || undefined,
      messages: toMessages(call.messages),
      max_tokens: p.maxTokens ?? call.provider.maxTokens ?? DEFAULT_MAX_TOKENS,
      temperature: p.temperature,
      top_p: p.topP,
      stop_sequences: p.stop,
      tools: call.tools?.length
        ? call.tools.map((t) => compact({ name: t.name, description: t.description, input_schema: t.parameters ?? { type: "object", properties: {} } }))
        : undefined,
      tool_choice: toolChoice,
      stream: stream || undefined,
    });
    const headers: Record<string, string> = { "Content-Type": "application/json", "anthropic-version": ANTHROPIC_VERSION, ...call.provider.headers };
    if (call.provider.apiKey) headers["x-api-key"] = call.provider.apiKey;
    // Tolerate a `/v1` suffix on baseUrl: the path adds it.
    return { url: joinUrl(withoutV1(call.provider.baseUrl), "/v1/messages"), headers, body };
  },
  parseChat(json: any): ModelResult {
    if (json?.type === "error") throw errorFrom(json);
    let text = "";
    const toolCalls: ToolCall[] = [];
    for (const block of json?.content ?? []) {
      if (block.type === "text") text += String(block.text ?? "");
      else if (block.type === "tool_use") toolCalls.push({ id: String(block.id), name: String(block.name), arguments: JSON.stringify(block.input ?? {}) });
    }
    const u = json?.usage ?? {};
    return {
      text,
      toolCalls,
      finishReason: toolCalls.length ? "tool_calls" : (stopReason(json?.stop_reason) ?? "stop"),
      usage: { ...zeroUsage(), input: num(u.input_tokens), output: num(u.output_tokens), cacheRead: num(u.cache_read_input_tokens) },
    };
  },
  streamTranslator() {
    // content block index → tool index
    const tools = new Map<number, number>();
    return (items) => {
      const out: ModelEvent[] = [];
      for (const ev of items as SseEvent[]) {
        const v: any = JSON.parse(ev.data);
        switch (v.type ?? ev.event) {
          case "message_start": {
            const u = v.message?.usage;
            if (u) out.push({ type: "usage", usage: { input: num(u.input_tokens), cacheRead: num(u.cache_read_input_tokens), output: num(u.output_tokens) } });
            break;
          }
          case "content_block_start":
            if (v.content_block?.type === "tool_use") {
              const idx = tools.size;
              tools.set(num(v.index), idx);
              out.push({ type: "tool", index: idx, id: String(v.content_block.id), name: String(v.content_block.name), args: "" });
            } else if (v.content_block?.type === "text" && v.content_block.text) {
              out.push({ type: "text", text: String(v.content_block.text) });
            }
            break;
          case "content_block_delta":
            if (v.delta?.type === "text_delta" && v.delta.text) out.push({ type: "text", text: String(v.delta.text) });
            else if (v.delta?.type === "input_json_delta") {
              const idx = tools.get(num(v.index));
              if (idx !== undefined && v.delta.partial_json) out.push({ type: "tool", index: idx, args: String(v.delta.partial_json) });
            }
            break;
          case "message_delta": {
            if (v.usage) out.push({ type: "usage", usage: { output: num(v.usage.output_tokens) } });
            const f = stopReason(v.delta?.stop_reason);
            if (f) out.push({ type: "finish", reason: f });
            break;
          }
          case "error":
            throw errorFrom(v);
        }
      }
      return out;
    };
  },
};
