/** `api: "openai-responses"`: `POST {baseUrl}/responses` (baseUrl includes `/v1`). */
import { bearerHeaders, compact, joinUrl, num, type Adapter } from "./adapter.ts";
import { ProviderError } from "./errors.ts";
import { openAiCompletions } from "./openai-completions.ts";
import type { SseEvent } from "./wire.ts";
import type { Message, ModelCall, ModelEvent, ModelResult, ToolCall } from "./types.ts";
import { zeroUsage } from "./types.ts";

function toInput(messages: Message[]): unknown[] {
  const out: unknown[] = [];
  for (const m of messages) {
    if (m.role === "user") out.push({ role: "user", content: m.content });
    else if (m.role === "assistant") {
      if (m.content) out.push({ role: "assistant", content: m.content });
      for (const t of m.toolCalls ?? []) out.push({ type: "function_call", call_id: t.id, name: t.name, arguments: t.arguments });
    } else out.push({ type: "function_call_output", call_id: m.toolCallId, output: m.content });
  }
  return out;
}

function usageFrom(u: any) {
  if (!u || typeof u !== "object") return undefined;
  const cached = num(u.input_tokens_details?.cached_tokens);
  return { input: num(u.input_tokens) - cached, output: num(u.output_tokens), cacheRead: cached, reasoning: num(u.output_tokens_details?.reasoning_tokens) };
}

function failedError(r: any): ProviderError {
  const message = String(r?.error?.message ?? r?.message ?? "upstream response failed");
  const code = String(r?.error?.code ?? "");
  if (/rate.?limit/i.test(code)) return new ProviderError("rate_limit", message);
  return new ProviderError("server_error", message);
}

export const openAiResponses: Adapter = {
  streamFormat: "sse",
  chatRequest(call: ModelCall, stream: boolean) {
    const p = call.params;
    const choice = call.toolChoice;
    const body = compact({
      model: call.model,
      instructions: call.system || undefined,
      input: toInput(call.messages),
      tools: call.tools?.length
        ? call.tools.map((t) => compact({ type: "function", name: t.name, description: t.description, parameters: t.parameters, strict: t.strict }))
        : undefined,
      tool_choice: call.tools?.length ? (typeof choice === "object" ? { type: "function", name: choice.name } : choice) : undefined,
      max_output_tokens: p.maxTokens ?? call.provider.maxTokens,
      temperature: p.temperature,
      top_p: p.topP,
      store: false,
      stream: stream || undefined,
    });
    return { url: joinUrl(call.provider.baseUrl, "/responses"), headers: bearerHeaders(call.provider), body };
  },
  parseChat(json: any): ModelResult {
    if (json?.error && json.status !== "completed") throw failedError(json);
    if (json?.status === "failed") throw failedError(json);
    let text = "";
    const toolCalls: ToolCall[] = [];
    for (const item of json?.output ?? []) {
      if (item.type === "message") {
        for (const part of item.content ?? []) if (part.type === "output_text") text += String(part.text ?? "");
      } else if (item.type === "function_call") {
        toolCalls.push({ id: String(item.call_id ?? item.id), name: String(item.name), arguments: String(item.arguments ?? "") });
      }
    }
    const incomplete = json?.status === "incomplete";
    return {
      text,
      toolCalls,
      finishReason: toolCalls.length ? "tool_calls" : incomplete ? "length" : "stop",
      usage: { ...zeroUsage(), ...usageFrom(json?.usage) },
    };
  },
  streamTranslator() {
    // output_index → our tool index
    const toolIndex = new Map<number | string, number>();
    let sawTool = false;
    return (items) => {
      const out: ModelEvent[] = [];
      for (const ev of items as SseEvent[]) {
        if (ev.data === "[DONE]") continue;
        const v: any = JSON.parse(ev.data);
        const type = v.type ?? ev.event;
        switch (type) {
          case "response.output_text.delta":
            if (v.delta) out.push({ type: "text", text: String(v.delta) });
            break;
          case "response.output_item.added":
            if (v.item?.type === "function_call") {
              const idx = toolIndex.size;
              toolIndex.set(v.output_index ?? v.item.id, idx);
              if (v.item.id) toolIndex.set(v.item.id, idx);
              sawTool = true;
              out.push({ type: "tool", index: idx, id: String(v.item.call_id ?? v.item.id), name: String(v.item.name), args: String(v.item.arguments ?? "") });
            }
            break;
          case "response.function_call_arguments.delta": {
            const idx = toolIndex.get(v.output_index) ?? toolIndex.get(v.item_id);
            if (idx !== undefined && v.delta) out.push({ type: "tool", index: idx, args: String(v.delta) });
            break;
          }
          case "response.completed":
          case "response.incomplete": {
            const u = usageFrom(v.response?.usage);
            if (u) out.push({ type: "usage", usage: u });
            out.push({ type: "finish", reason: sawTool ? "tool_calls" : type === "response.incomplete" ? "length" : "stop" });
            break;
          }
          case "response.failed":
            throw failedError(v.response);
          case "error":
            throw failedError(v);
        }
      }
      return out;
    };
  },
  embedRequest: openAiCompletions.embedRequest,
  parseEmbed: openAiCompletions.parseEmbed,
};
