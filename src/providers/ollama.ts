/** `api: "ollama"`: native `POST {baseUrl}/api/chat` (NDJSON stream) and `/api/embed`; baseUrl without `/v1`. */
import { bearerHeaders, compact, joinUrl, num, safeJsonObject, withoutV1, type Adapter } from "./adapter.ts";
import { ProviderError } from "./errors.ts";
import type { Message, ModelCall, ModelEvent, ModelResult, ProviderConfig, ToolCall } from "./types.ts";
import { zeroUsage } from "./types.ts";

/** Bearer auth, except for the `ollama-local` placeholder key. */
function headers(p: ProviderConfig): Record<string, string> {
  return bearerHeaders(p.apiKey === "ollama-local" ? { ...p, apiKey: undefined } : p);
}

function toMessages(system: string | undefined, messages: Message[]): unknown[] {
  const out: unknown[] = [];
  if (system) out.push({ role: "system", content: system });
  for (const m of messages) {
    if (m.role === "assistant") {
      out.push(
        compact({
          role: "assistant",
          content: m.content,
          tool_calls: m.toolCalls?.length ? m.toolCalls.map((t) => ({ function: { name: t.name, arguments: safeJsonObject(t.arguments) } })) : undefined,
        }),
      );
    } else if (m.role === "tool") out.push(compact({ role: "tool", content: m.content, tool_name: m.name }));
    else out.push({ role: "user", content: m.content });
  }
  return out;
}

function toolCallsOf(msg: any): ToolCall[] {
  if (!Array.isArray(msg?.tool_calls)) return [];
  return msg.tool_calls.map((t: any) => {
    const args = t.function?.arguments;
    return { id: String(t.id ?? `call_${crypto.randomUUID()}`), name: String(t.function?.name ?? ""), arguments: typeof args === "string" ? args : JSON.stringify(args ?? {}) };
  });
}

function checkError(v: any): void {
  if (v && typeof v.error === "string") throw new ProviderError("server_error", v.error);
}

export const ollama: Adapter = {
  streamFormat: "ndjson",
  chatRequest(call: ModelCall, stream: boolean) {
    const p = call.params;
    const options = compact({
      temperature: p.temperature,
      top_p: p.topP,
      num_predict: p.maxTokens ?? call.provider.maxTokens,
      stop: p.stop,
      seed: p.seed,
      frequency_penalty: p.frequencyPenalty,
      presence_penalty: p.presencePenalty,
    });
    const body = compact({
      model: call.model,
      messages: toMessages(call.system, call.messages),
      tools: call.tools?.length && call.toolChoice !== "none"
        ? call.tools.map((t) => ({ type: "function", function: compact({ name: t.name, description: t.description, parameters: t.parameters }) }))
        : undefined,
      format: p.responseFormat?.type === "json_object" ? "json" : undefined,
      options: Object.keys(options).length ? options : undefined,
      stream,
    });
    return { url: joinUrl(withoutV1(call.provider.baseUrl), "/api/chat"), headers: headers(call.provider), body };
  },
  parseChat(json: any): ModelResult {
    checkError(json);
    const toolCalls = toolCallsOf(json?.message);
    return {
      text: String(json?.message?.content ?? ""),
      toolCalls,
      finishReason: toolCalls.length ? "tool_calls" : json?.done_reason === "length" ? "length" : "stop",
      usage: { ...zeroUsage(), input: num(json?.prompt_eval_count), output: num(json?.eval_count) },
    };
  },
  streamTranslator() {
    let tools = 0;
    return (items) => {
      const out: ModelEvent[] = [];
      for (const v of items as any[]) {
        checkError(v);
        const content = v.message?.content;
        if (typeof content === "string" && content) out.push({ type: "text", text: content });
        for (const t of toolCallsOf(v.message)) out.push({ type: "tool", index: tools++, id: t.id, name: t.name, args: t.arguments });
        if (v.done) {
          out.push({ type: "usage", usage: { input: num(v.prompt_eval_count), output: num(v.eval_count) } });
          out.push({ type: "finish", reason: tools > 0 ? "tool_calls" : v.done_reason === "length" ? "length" : "stop" });
        }
      }
      return out;
    };
  },
  embedRequest(call) {
    return {
      url: joinUrl(withoutV1(call.provider.baseUrl), "/api/embed"),
      headers: headers(call.provider),
      body: compact({ model: call.model, input: call.input, dimensions: call.dimensions }),
    };
  },
  parseEmbed(json: any) {
    checkError(json);
    if (!Array.isArray(json?.embeddings)) throw new ProviderError("format", "upstream embeddings response has no embeddings");
    const n = num(json.prompt_eval_count);
    return { vectors: json.embeddings.map((e: unknown[]) => e.map(Number)), usage: { prompt: n, total: n } };
  },
};
