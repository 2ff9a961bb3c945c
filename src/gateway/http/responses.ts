/**
 * OpenResponses-compatible `POST /v1/responses`, stream and non-stream. Each request is one
 * agent turn; `previous_response_id` continues the session it produced when the caller, the
 * agent and `x-openclaw-session-key` match (links persist in the state database for 30 min).
 */
import { Hono, type Context } from "hono";
import { planTurn } from "../../agents/turn.ts";
import { StoreUnavailableError } from "../../agents/runtime.ts";
import { ProviderError, toHttpFailure } from "../../providers/errors.ts";
import type { Message, ModelEvent, ModelResult, ToolCall, Usage } from "../../providers/types.ts";
import { z } from "../../zod.ts";
import { messageChannel, modelOverride, selectAgent, sessionKeyFor } from "./agent-request.ts";
import { BODY_LIMITS, clientAbort, failureBody, streamTurn } from "./common.ts";
import { bodyOf, endpoint, jsonBody, noIdleTimeout, routeAll } from "./middleware.ts";
import { ApiError, invalidRequest, json } from "./reply.ts";
import type { HttpContext, HttpEnv } from "./types.ts";
import { between, EMPTY_REPLY, opt, Part, PositiveInt, toolsFrom } from "./openai.ts";

/** Items: typed, or typeless `{role, content}` messages as the OpenAI SDKs send them. */
const Item = z.looseObject({
  type: z.optional(z.string()),
  role: z.optional(z.enum(["system", "developer", "user", "assistant"])),
  content: z.optional(z.union([z.string(), z.array(Part)])),
  call_id: z.optional(z.string()),
  name: z.optional(z.string()),
  arguments: z.optional(z.string()),
  output: z.optional(z.unknown()),
});

export const ResponsesRequest = z.looseObject({
  model: z.string(),
  input: z.optional(z.union([z.string(), z.array(Item)])),
  instructions: opt(z.string()),
  tools: opt(
    z.array(
      z.looseObject({
        type: z.literal("function"),
        name: z.string().check(z.minLength(1)),
        description: opt(z.string()),
        parameters: opt(z.record(z.string(), z.unknown())),
        strict: opt(z.boolean()),
      }),
    ),
  ),
  tool_choice: opt(z.union([z.enum(["auto", "none", "required"]), z.looseObject({ type: z.literal("function"), name: z.string() })])),
  text: opt(z.looseObject({})),
  stream: opt(z.boolean()),
  max_output_tokens: opt(PositiveInt),
  temperature: opt(between(0, 2)),
  top_p: opt(between(0, 1)),
  user: opt(z.string()),
  previous_response_id: opt(z.string()),
});
type ResponsesRequest = z.infer<typeof ResponsesRequest>;

function partsText(content: string | Array<{ type: string; text?: string }> | undefined, where: string): string {
  if (content === undefined) return "";
  if (typeof content === "string") return content;
  return content
    .map((p) => {
      if (p.type === "input_text" || p.type === "output_text" || p.type === "text") return p.text ?? "";
      if (p.type === "input_image" || p.type === "input_file") {
        throw ApiError.invalid(`Image and file input is not supported by this gateway yet (${where}).`);
      }
      throw ApiError.invalid(`Unsupported content part type '${p.type}' in ${where}.`);
    })
    .join("\n");
}

export function convertInput(body: ResponsesRequest): { system?: string; conversation: Message[] } {
  const system: string[] = body.instructions ? [body.instructions] : [];
  const conversation: Message[] = [];
  const input = body.input === undefined ? [] : typeof body.input === "string" ? [{ role: "user" as const, content: body.input }] : body.input;
  input.forEach((item, i) => {
    const where = `input[${i}]`;
    const type = item.type ?? (item.role ? "message" : undefined);
    switch (type) {
      case "message": {
        const text = partsText(item.content, where);
        if (item.role === "system" || item.role === "developer") {
          if (text) system.push(text);
        } else if (item.role === "assistant") conversation.push({ role: "assistant", content: text });
        else if (item.role === "user") conversation.push({ role: "user", content: text });
        else throw ApiError.invalid(`Missing \`role\` in ${where}.`);
        break;
      }
      case "function_call": {
        if (!item.call_id || !item.name) throw ApiError.invalid(`\`function_call\` needs \`call_id\` and \`name\` (${where}).`);
        const call: ToolCall = { id: item.call_id, name: item.name, arguments: item.arguments ?? "" };
        const last = conversation[conversation.length - 1];
        if (last?.role === "assistant") last.toolCalls = [...(last.toolCalls ?? []), call];
        else conversation.push({ role: "assistant", content: "", toolCalls: [call] });
        break;
      }
      case "function_call_output": {
        if (!item.call_id) throw ApiError.invalid(`\`function_call_output\` needs \`call_id\` (${where}).`);
        const output = typeof item.output === "string" ? item.output : JSON.stringify(item.output ?? "");
        conversation.push({ role: "tool", content: output, toolCallId: item.call_id });
        break;
      }
      case "reasoning":
      case "item_reference":
        break;
      default:
        throw ApiError.invalid(`Unsupported input item type '${String(item.type)}' in ${where}.`);
    }
  });
  return { system: system.length ? system.join("\n\n") : undefined, conversation };
}

function usageOf(u: Usage) {
  const input = u.input + u.cacheRead;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: u.cacheRead, cache_write_tokens: 0 },
    output_tokens: u.output,
    output_tokens_details: { reasoning_tokens: u.reasoning },
    total_tokens: input + u.output,
  };
}

const ZERO_USAGE = usageOf({ input: 0, output: 0, cacheRead: 0, reasoning: 0 });

interface Shell {
  id: string;
  created_at: number;
  model: string;
}

function messageItem(id: string, text: string, phase: "final_answer" | "commentary", status = "completed") {
  return { type: "message", id, role: "assistant", content: [{ type: "output_text", text }], phase, status };
}

const functionCallItemId = (callId: string) => (callId.startsWith("call_") ? callId : `call_${callId}`);

function functionCallItem(t: ToolCall, status = "completed") {
  return { type: "function_call", id: functionCallItemId(t.id), call_id: t.id, name: t.name, arguments: t.arguments, status };
}

export function responseObject(shell: Shell, result: ModelResult, msgId: string): Record<string, unknown> {
  const output: unknown[] = [];
  if (result.toolCalls.length) {
    if (result.text) output.push(messageItem(msgId, result.text, "commentary"));
    for (const t of result.toolCalls) output.push(functionCallItem(t));
  } else output.push(messageItem(msgId, result.text || EMPTY_REPLY, "final_answer"));
  const incomplete = result.finishReason === "length";
  return {
    id: shell.id,
    object: "response",
    created_at: shell.created_at,
    status: incomplete ? "incomplete" : "completed",
    model: shell.model,
    output,
    usage: usageOf(result.usage),
    ...(incomplete ? { incomplete_details: { reason: "max_output_tokens" } } : {}),
  };
}

function failedObject(shell: Shell, code: string, message: string): Record<string, unknown> {
  return { id: shell.id, object: "response", created_at: shell.created_at, status: "failed", model: shell.model, output: [], usage: ZERO_USAGE, error: { code, message } };
}

/** A turn failure as the `failed` response resource with the mapped HTTP status (others go to onError). */
function failedResponse(shell: Shell, err: unknown): Response {
  if (err instanceof StoreUnavailableError) return json(503, failedObject(shell, "api_error", err.message));
  if (err instanceof ProviderError) {
    const f = toHttpFailure(err);
    return json(f.status, failedObject(shell, f.code ?? f.type, f.message));
  }
  throw err;
}

/** Streams the OpenResponses event sequence for one turn. */
class ResponseEvents {
  private seq = 0;
  private index = 0;
  private text = "";
  private msgIndex = -1;
  private tools = new Map<number, { outputIndex: number; call: ToolCall }>();

  constructor(
    private readonly shell: Shell,
    private readonly msgId: string,
  ) {}

  frame(type: string, data: Record<string, unknown>): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.seq++, ...data })}\n\n`;
  }

  private base(status: string) {
    return { id: this.shell.id, object: "response", created_at: this.shell.created_at, status, model: this.shell.model, output: [] as unknown[] };
  }

  start(): string {
    return this.frame("response.created", { response: this.base("in_progress") }) + this.frame("response.in_progress", { response: this.base("in_progress") });
  }

  private openMessage(): string {
    if (this.msgIndex >= 0) return "";
    this.msgIndex = this.index++;
    const part = { item_id: this.msgId, output_index: this.msgIndex, content_index: 0 };
    return (
      this.frame("response.output_item.added", { output_index: this.msgIndex, item: { type: "message", id: this.msgId, role: "assistant", content: [], status: "in_progress" } }) +
      this.frame("response.content_part.added", { ...part, part: { type: "output_text", text: "" } })
    );
  }

  private closeMessage(phase: "final_answer" | "commentary"): string {
    if (this.msgIndex < 0) return "";
    const part = { item_id: this.msgId, output_index: this.msgIndex, content_index: 0 };
    return (
      this.frame("response.output_text.done", { ...part, text: this.text }) +
      this.frame("response.content_part.done", { ...part, part: { type: "output_text", text: this.text } }) +
      this.frame("response.output_item.done", { output_index: this.msgIndex, item: messageItem(this.msgId, this.text, phase) })
    );
  }

  events(events: ModelEvent[]): string {
    let out = "";
    let delta = "";
    const flush = () => {
      if (!delta) return;
      out += this.openMessage();
      out += this.frame("response.output_text.delta", { item_id: this.msgId, output_index: this.msgIndex, content_index: 0, delta });
      this.text += delta;
      delta = "";
    };
    for (const ev of events) {
      if (ev.type === "text") delta += ev.text;
      else if (ev.type === "tool") {
        flush();
        let t = this.tools.get(ev.index);
        if (!t) {
          t = { outputIndex: this.index++, call: { id: ev.id ?? `call_${crypto.randomUUID()}`, name: ev.name ?? "", arguments: "" } };
          this.tools.set(ev.index, t);
          out += this.frame("response.output_item.added", { output_index: t.outputIndex, item: functionCallItem(t.call, "in_progress") });
        }
        if (ev.args) {
          t.call.arguments += ev.args;
          out += this.frame("response.function_call_arguments.delta", { item_id: functionCallItemId(t.call.id), output_index: t.outputIndex, delta: ev.args });
        }
      }
    }
    flush();
    return out;
  }

  finish(result: ModelResult): string {
    let out = "";
    if (this.msgIndex < 0 && !result.toolCalls.length) {
      // Nothing streamed: still deliver the (fallback) text as one delta.
      out += this.events([{ type: "text", text: result.text || EMPTY_REPLY }]);
    }
    out += this.closeMessage(result.toolCalls.length ? "commentary" : "final_answer");
    for (const t of [...this.tools.values()].sort((a, b) => a.outputIndex - b.outputIndex)) {
      const item = functionCallItem(t.call);
      out += this.frame("response.function_call_arguments.done", { item_id: item.id, output_index: t.outputIndex, arguments: t.call.arguments });
      out += this.frame("response.output_item.done", { output_index: t.outputIndex, item });
    }
    const response = responseObject(this.shell, { ...result, text: this.text || result.text }, this.msgId);
    const type = response.status === "incomplete" ? "response.incomplete" : "response.completed";
    return out + this.frame(type, { response });
  }

  failed(code: string, message: string): string {
    return this.frame("response.failed", { response: failedObject(this.shell, code, message) });
  }
}

async function responses(ctx: HttpContext, c: Context<HttpEnv>): Promise<Response> {
  const req = c.req.raw;
  const principal = c.var.principal;
  const body = bodyOf(c, ResponsesRequest);
  const runtime = ctx.agents;
  const agent = selectAgent(runtime, body.model, req.headers);
  const override = modelOverride(runtime, agent, req.headers, principal);
  const { system, conversation } = convertInput(body);
  const tc = body.tool_choice;
  const { tools, toolChoice } = toolsFrom(body.tools, tc && typeof tc === "object" ? { name: tc.name } : tc);
  const store = runtime.store;

  // previous_response_id: same caller, agent and explicit session key, else silently ignored.
  const headerKey = req.headers.get("x-openclaw-session-key")?.trim() || null;
  const link = body.previous_response_id ? store.findResponse(body.previous_response_id) : undefined;
  const linked = link && link.subject === principal.subject && link.agentId === agent.id && link.headerKey === headerKey ? link : undefined;
  let sessionKey: string;
  let plan;
  if (linked) {
    sessionKey = linked.sessionKey;
    const stored = store.history(sessionKey);
    const last = conversation[conversation.length - 1];
    plan = last && last.role !== "assistant" ? { context: [...stored, ...conversation], append: conversation } : undefined;
  } else {
    const session = sessionKeyFor(runtime, agent, req.headers, body.user, "openresponses");
    sessionKey = session.key;
    plan = planTurn(session.explicit ? store.history(sessionKey) : [], conversation);
  }
  if (!plan) return invalidRequest("Missing user message in `input`.");

  const shell: Shell = { id: `resp_${crypto.randomUUID()}`, created_at: Math.floor(Date.now() / 1000), model: body.model };
  const msgId = `msg_${crypto.randomUUID()}`;
  const client = clientAbort(req);
  const turn = {
    config: runtime.config,
    store,
    agent,
    sessionKey,
    plan,
    system,
    tools,
    toolChoice,
    params: { maxTokens: body.max_output_tokens ?? undefined, temperature: body.temperature ?? undefined, topP: body.top_p ?? undefined },
    override,
    signal: client.signal,
    channel: messageChannel(req.headers),
    env: runtime.env,
    log: ctx.log,
  };
  const remember = () => store.saveResponse({ id: shell.id, sessionKey, agentId: agent.id, subject: principal.subject, headerKey });

  if (!body.stream) {
    try {
      const { result } = await runtime.runTurn(turn);
      remember();
      return json(200, responseObject(shell, result, msgId));
    } catch (err) {
      return failedResponse(shell, err);
    } finally {
      client.release();
    }
  }

  const events = new ResponseEvents(shell, msgId);
  return streamTurn({
    client,
    head: () => events.start(),
    run: (hooks) => runtime.runTurn({ ...turn, ...hooks }),
    frames: (evs) => events.events(evs),
    async end({ result }, sse) {
      remember();
      await sse.write(events.finish(result));
    },
    async fail(err, sse) {
      const f = failureBody(err);
      await sse.write(events.failed(f.code ?? f.type, f.message));
    },
  }).catch((err) => failedResponse(shell, err));
}

export function responsesRoutes(ctx: HttpContext): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  routeAll(
    app,
    "/v1/responses",
    ...endpoint(ctx, { name: "responses", methods: ["POST"], scope: "operator.write" }),
    noIdleTimeout(),
    jsonBody(ResponsesRequest, BODY_LIMITS.responses),
    (c) => responses(ctx, c),
  );
  return app;
}
