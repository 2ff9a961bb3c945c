/** `api: "openai-completions"`: `POST {baseUrl}/chat/completions` (baseUrl includes `/v1`). */
import { bearerHeaders, compact, joinUrl, num, type Adapter } from "./adapter.ts";
import { ProviderError } from "./errors.ts";
import type { SseEvent } from "./wire.ts";
import type { FinishReason, Message, ModelCall, ModelEvent, ToolChoice, ToolDef } from "./types.ts";
import { zeroUsage } from "./types.ts";

export function toOpenAiMessages(system: string | undefined, messages: Message[]): unknown[] {
  const out: unknown[] = [];
  if (system) out.push({ role: "system", content: system });
  for (const m of messages) {
    if (m.role === "assistant") {
      const msg: Record<string, unknown> = { role: "assistant", content: m.content };
      if (m.toolCalls?.length) {
        msg.tool_calls = m.toolCalls.map((t) => ({ id: t.id, type: "function", function: { name: t.name, arguments: t.arguments } }));
        if (!m.content) msg.content = null;
      }
      out.push(msg);
    } else if (m.role === "tool") out.push({ role: "tool", tool_call_id: m.toolCallId, content: m.content });
    else out.push({ role: "user", content: m.content });
  }
  return out;
}

export function toOpenAiTools(tools: ToolDef[] | undefined): unknown[] | undefined {
  if (!tools?.length) return undefined;
  return tools.map((t) => ({
    type: "function",
    function: compact({ name: t.name, description: t.description, parameters: t.parameters, strict: t.strict }),
  }));
}

export function toOpenAiToolChoice(choice: ToolChoice | undefined): unknown {
  if (choice === undefined || typeof choice === "string") return choice;
  return { type: "function", function: { name: choice.name } };
}

export function finishFrom(value: unknown): FinishReason | undefined {
  if (value === "length") return "length";
  if (value === "tool_calls" || value === "function_call") return "tool_calls";
  if (typeof value === "string") return "stop";
  return undefined;
}

function usageFrom(u: any) {
  if (!u || typeof u !== "object") return undefined;
  return {
    input: num(u.prompt_tokens) - num(u.prompt_tokens_details?.cached_tokens),
    output: num(u.completion_tokens),
    cacheRead: num(u.prompt_tokens_details?.cached_tokens),
    reasoning: num(u.completion_tokens_details?.reasoning_tokens),
  };
}

const DELTA_HEAD = '"choices":[{"index":0,"delta":{"content":"';
const DELTA_TAIL = /^\},(?:"logprobs":null,)?"finish_reason":null(?:,"stop_reason":null)?\}\](?:,"usage":null)?(?:,"system_fingerprint":(?:null|"[^"\\]*"))?\}$/;

/**
 * Fast path for the chunk that makes up nearly every stream: exactly one choice whose delta is
 * only `content`, no finish reason, no usage. Returns the content, or undefined for anything
 * else (which then takes the full JSON.parse path). The head can only match as JSON structure:
 * inside a JSON string every quote is escaped.
 */
export function fastContentDelta(data: string): string | undefined {
  const at = data.indexOf(DELTA_HEAD);
  if (at < 0 || data.charCodeAt(0) !== 123 /* { */) return undefined;
  const prefix = data.slice(1, at);
  if (prefix.includes('"error"') || prefix.includes('"usage"') || prefix.includes('"choices"')) return undefined;
  const start = at + DELTA_HEAD.length;
  let end = data.indexOf('"', start);
  let escaped = false;
  while (end >= 0) {
    let slashes = 0;
    for (let i = end - 1; i >= start && data.charCodeAt(i) === 92; i--) slashes++;
    if (slashes % 2 === 0) break;
    escaped = true;
    end = data.indexOf('"', end + 1);
  }
  if (end < 0 || !DELTA_TAIL.test(data.slice(end + 1))) return undefined;
  const raw = data.slice(start, end);
  if (!escaped && raw.indexOf("\\") < 0) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return undefined;
  }
}

/** An `{"error":…}` object inside a 200 body or stream. */
function inlineError(v: any): ProviderError | undefined {
  if (!v || typeof v !== "object" || !v.error) return undefined;
  const message = typeof v.error === "string" ? v.error : String(v.error.message ?? "upstream error");
  return new ProviderError("server_error", message);
}

export const openAiCompletions: Adapter = {
  streamFormat: "sse",
  chatRequest(call: ModelCall, stream: boolean) {
    const p = call.params;
    const body = compact({
      model: call.model,
      messages: toOpenAiMessages(call.system, call.messages),
      tools: toOpenAiTools(call.tools),
      tool_choice: call.tools?.length ? toOpenAiToolChoice(call.toolChoice) : undefined,
      max_tokens: p.maxTokens ?? call.provider.maxTokens,
      temperature: p.temperature,
      top_p: p.topP,
      stop: p.stop,
      seed: p.seed,
      frequency_penalty: p.frequencyPenalty,
      presence_penalty: p.presencePenalty,
      response_format: p.responseFormat,
      stream: stream || undefined,
      stream_options: stream ? { include_usage: true } : undefined,
    });
    return { url: joinUrl(call.provider.baseUrl, "/chat/completions"), headers: bearerHeaders(call.provider), body };
  },
  parseChat(json: any) {
    const err = inlineError(json);
    if (err) throw err;
    const choice = json?.choices?.[0];
    if (!choice) throw new ProviderError("format", "upstream response has no choices");
    const msg = choice.message ?? {};
    const toolCalls = Array.isArray(msg.tool_calls)
      ? msg.tool_calls.map((t: any) => ({ id: String(t.id ?? `call_${crypto.randomUUID()}`), name: String(t.function?.name ?? ""), arguments: String(t.function?.arguments ?? "") }))
      : [];
    const text = typeof msg.content === "string" ? msg.content : "";
    return {
      text,
      toolCalls,
      finishReason: toolCalls.length ? "tool_calls" : (finishFrom(choice.finish_reason) ?? "stop"),
      usage: { ...zeroUsage(), ...usageFrom(json.usage) },
    };
  },
  streamTranslator() {
    return (items) => {
      const out: ModelEvent[] = [];
      // Consecutive text in one batch becomes one event.
      let text = "";
      const flush = () => {
        if (text) out.push({ type: "text", text });
        text = "";
      };
      for (const ev of items as SseEvent[]) {
        if (ev.data === "[DONE]") continue;
        const fast = fastContentDelta(ev.data);
        if (fast !== undefined) {
          text += fast;
          continue;
        }
        const v: any = JSON.parse(ev.data);
        const err = inlineError(v);
        if (err) throw err;
        const choice = v.choices?.[0];
        if (choice) {
          const d = choice.delta ?? {};
          if (typeof d.content === "string") text += d.content;
          if (Array.isArray(d.tool_calls)) {
            flush();
            for (const t of d.tool_calls) {
              out.push({ type: "tool", index: num(t.index), id: t.id ?? undefined, name: t.function?.name ?? undefined, args: t.function?.arguments ?? "" });
            }
          }
          const f = finishFrom(choice.finish_reason);
          if (f) {
            flush();
            out.push({ type: "finish", reason: f });
          }
        }
        const u = usageFrom(v.usage);
        if (u) {
          flush();
          out.push({ type: "usage", usage: u });
        }
      }
      flush();
      return out;
    };
  },
  embedRequest(call) {
    return {
      url: joinUrl(call.provider.baseUrl, "/embeddings"),
      headers: bearerHeaders(call.provider),
      body: compact({ model: call.model, input: call.input, dimensions: call.dimensions, encoding_format: "float" }),
    };
  },
  parseEmbed(json: any) {
    const err = inlineError(json);
    if (err) throw err;
    if (!Array.isArray(json?.data)) throw new ProviderError("format", "upstream embeddings response has no data");
    const rows = [...json.data].sort((a: any, b: any) => num(a.index) - num(b.index));
    return {
      vectors: rows.map((r: any) => (Array.isArray(r.embedding) ? r.embedding.map(Number) : decodeBase64Floats(String(r.embedding)))),
      usage: { prompt: num(json.usage?.prompt_tokens), total: num(json.usage?.total_tokens) },
    };
  },
};

export function decodeBase64Floats(b64: string): number[] {
  const bytes = Buffer.from(b64, "base64");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 4 <= bytes.byteLength; i += 4) out.push(view.getFloat32(i, true));
  return out;
}
