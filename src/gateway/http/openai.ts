/**
 * OpenAI-compatible `GET /v1/models`, `GET /v1/models/{id}` and `POST /v1/chat/completions`.
 * Models are agents (`openclaw`, `openclaw/default`, `openclaw/<agentId>`); each completion is
 * one agent turn on a session. Streams end with a `finish_reason` chunk before `[DONE]`;
 * upstream failures before the first byte get a real non-2xx status.
 */
import { Hono, type Context } from "hono";
import { planTurn } from "../../agents/turn.ts";
import type { Message, ModelEvent, ModelResult, SamplingParams, ToolChoice, ToolDef, Usage } from "../../providers/types.ts";
import { z } from "../../zod.ts";
import { messageChannel, modelOverride, selectAgent, sessionKeyFor } from "./agent-request.ts";
import { BODY_LIMITS, clientAbort, failureBody, streamTurn } from "./common.ts";
import { bodyOf, endpoint, jsonBody, noIdleTimeout, routeAll } from "./middleware.ts";
import { ApiError, invalidRequest, json, oaiError } from "./reply.ts";
import type { HttpContext, HttpEnv } from "./types.ts";

// --- models ---------------------------------------------------------------------------------

function modelObject(id: string) {
  return { id, object: "model", created: 0, owned_by: "openclaw", permission: [] as unknown[] };
}

export function listedModelIds(ctx: Pick<HttpContext, "agents">): string[] {
  return ["openclaw", "openclaw/default", ...ctx.agents.agents().map((a) => `openclaw/${a.id}`)];
}

// --- chat request schema --------------------------------------------------------------------

// Building blocks shared with `/v1/responses`.
export const opt = <T extends z.ZodMiniType>(t: T) => z.optional(z.nullable(t));
const Int = z.number().check(z.int());
export const PositiveInt = z.number().check(z.int(), z.positive());
export const between = (lo: number, hi: number) => z.number().check(z.gte(lo), z.lte(hi));
/** A content part; each surface decides which `type`s it takes. */
export const Part = z.looseObject({ type: z.string(), text: z.optional(z.string()) });
const Content = opt(z.union([z.string(), z.array(Part)]));

const ChatMessage = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
  content: Content,
  name: opt(z.string()),
  tool_calls: opt(
    z.array(
      z.looseObject({
        id: z.string(),
        type: z.optional(z.string()),
        function: z.looseObject({ name: z.string(), arguments: opt(z.string()) }),
      }),
    ),
  ),
  tool_call_id: opt(z.string()),
});

const FunctionTool = z.looseObject({
  type: z.literal("function"),
  function: z.looseObject({
    name: z.string().check(z.minLength(1)),
    description: opt(z.string()),
    parameters: opt(z.record(z.string(), z.unknown())),
    strict: opt(z.boolean()),
  }),
});

export const ChatRequest = z.looseObject({
  model: opt(z.string()),
  messages: z.array(ChatMessage),
  stream: opt(z.boolean()),
  stream_options: opt(z.looseObject({ include_usage: opt(z.boolean()) })),
  user: opt(z.string()),
  tools: opt(z.array(FunctionTool)),
  tool_choice: opt(
    z.union([
      z.enum(["auto", "none", "required"]),
      z.looseObject({ type: z.literal("function"), function: z.looseObject({ name: z.string() }) }),
    ]),
  ),
  max_completion_tokens: opt(PositiveInt),
  max_tokens: opt(PositiveInt),
  temperature: opt(between(0, 2)),
  top_p: opt(between(0, 1)),
  frequency_penalty: opt(between(-2, 2)),
  presence_penalty: opt(between(-2, 2)),
  seed: opt(Int),
  stop: opt(z.union([z.string(), z.array(z.string().check(z.minLength(1))).check(z.maxLength(4))])),
  response_format: opt(z.looseObject({ type: z.enum(["text", "json_object", "json_schema"]) })),
});
export type ChatRequest = z.infer<typeof ChatRequest>;

function partsText(content: ChatRequest["messages"][number]["content"], where: string): string {
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  const out: string[] = [];
  for (const p of content) {
    if (p.type === "text" || p.type === "input_text") out.push(p.text ?? "");
    else if (p.type === "image_url" || p.type === "input_image") {
      throw ApiError.invalid(`Image input is not supported by this gateway yet (${where}).`);
    } else throw ApiError.invalid(`Unsupported content part type '${p.type}' in ${where}.`);
  }
  return out.join("\n");
}

/** Client messages → extra system prompt + provider-neutral conversation. */
export function convertChatMessages(messages: ChatRequest["messages"]): { system?: string; conversation: Message[] } {
  const system: string[] = [];
  const conversation: Message[] = [];
  messages.forEach((m, i) => {
    const where = `messages[${i}]`;
    const text = partsText(m.content, where);
    switch (m.role) {
      case "system":
      case "developer":
        if (text) system.push(text);
        break;
      case "user":
        conversation.push({ role: "user", content: text });
        break;
      case "assistant": {
        const calls = (m.tool_calls ?? []).map((t) => ({ id: t.id, name: t.function.name, arguments: t.function.arguments ?? "" }));
        conversation.push(calls.length ? { role: "assistant", content: text, toolCalls: calls } : { role: "assistant", content: text });
        break;
      }
      case "tool":
      case "function": {
        const id = m.tool_call_id ?? m.name;
        if (!id) throw ApiError.invalid(`Missing \`tool_call_id\` in ${where}.`);
        conversation.push(m.name ? { role: "tool", content: text, toolCallId: id, name: m.name } : { role: "tool", content: text, toolCallId: id });
        break;
      }
    }
  });
  return { system: system.length ? system.join("\n\n") : undefined, conversation };
}

/** A client's function tools, flattened as `/v1/responses` sends them. */
export interface ClientTool {
  name: string;
  description?: string | null;
  parameters?: Record<string, unknown> | null;
  strict?: boolean | null;
}

/**
 * Client tools and `tool_choice` → provider-neutral ones. A named choice must be one of the
 * tools (else 400); `none` sends neither.
 */
export function toolsFrom(clientTools: ClientTool[] | null | undefined, choice: ToolChoice | null | undefined): { tools?: ToolDef[]; toolChoice?: ToolChoice } {
  const tools = clientTools?.map((t) => ({
    name: t.name,
    description: t.description ?? undefined,
    parameters: t.parameters ?? undefined,
    strict: t.strict ?? undefined,
  }));
  if (choice && typeof choice === "object" && !tools?.some((t) => t.name === choice.name)) {
    throw ApiError.invalid(`Unknown tool '${choice.name}' in \`tool_choice\`.`);
  }
  if (choice === "none") return {};
  return { tools: tools?.length ? tools : undefined, toolChoice: choice ?? undefined };
}

function toolsOf(body: ChatRequest): { tools?: ToolDef[]; toolChoice?: ToolChoice } {
  const tc = body.tool_choice;
  const out = toolsFrom(body.tools?.map((t) => t.function), tc && typeof tc === "object" ? { name: tc.function.name } : tc);
  if (out.toolChoice !== undefined && out.toolChoice !== "auto" && !out.tools) throw ApiError.invalid("`tool_choice` requires `tools`.");
  return out;
}

function paramsOf(body: ChatRequest): SamplingParams {
  const stop = body.stop === undefined || body.stop === null ? undefined : typeof body.stop === "string" ? [body.stop] : body.stop;
  return {
    maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    stop: stop?.length ? stop : undefined,
    seed: body.seed ?? undefined,
    frequencyPenalty: body.frequency_penalty ?? undefined,
    presencePenalty: body.presence_penalty ?? undefined,
    responseFormat: body.response_format && body.response_format.type !== "text" ? (body.response_format as Record<string, unknown>) : undefined,
  };
}

export function chatUsage(u: Usage) {
  const prompt = u.input + u.cacheRead;
  const out: Record<string, unknown> = { prompt_tokens: prompt, completion_tokens: u.output, total_tokens: prompt + u.output };
  if (u.cacheRead) out.prompt_tokens_details = { cached_tokens: u.cacheRead };
  if (u.reasoning) out.completion_tokens_details = { reasoning_tokens: u.reasoning };
  return out;
}

export const EMPTY_REPLY = "No response from OpenClaw.";
export const TOOL_ARG_FRAGMENT = 256;

function toolChoiceUnmet(choice: ToolChoice | undefined, result: ModelResult): boolean {
  if (choice === "required") return result.toolCalls.length === 0;
  if (typeof choice === "object") return !result.toolCalls.some((t) => t.name === choice.name);
  return false;
}

const TOOL_CHOICE_UNMET = "The model did not call a tool as `tool_choice` requires.";

// --- stream chunks --------------------------------------------------------------------------

/** Builds `chat.completion.chunk` frames with a pre-serialised prefix. */
export class ChunkWriter {
  private readonly head: string;
  private readonly seen = new Set<number>();

  constructor(id: string, created: number, model: string) {
    this.head = `data: {"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"choices":`;
  }

  chunk(delta: unknown, finish: string | null = null): string {
    return `${this.head}[{"index":0,"delta":${JSON.stringify(delta)},"finish_reason":${finish === null ? "null" : JSON.stringify(finish)}}]}\n\n`;
  }

  usage(u: Usage): string {
    return `${this.head}[],"usage":${JSON.stringify(chatUsage(u))}}\n\n`;
  }

  /** One batch of model events → frames; consecutive text is merged into one delta. */
  events(events: ModelEvent[]): string {
    let out = "";
    let text = "";
    const flush = () => {
      if (text) out += this.chunk({ content: text });
      text = "";
    };
    for (const ev of events) {
      if (ev.type === "text") text += ev.text;
      else if (ev.type === "tool") {
        flush();
        if (!this.seen.has(ev.index)) {
          this.seen.add(ev.index);
          out += this.chunk({ tool_calls: [{ index: ev.index, id: ev.id ?? `call_${crypto.randomUUID()}`, type: "function", function: { name: ev.name ?? "", arguments: "" } }] });
        }
        for (let i = 0; i < ev.args.length; i += TOOL_ARG_FRAGMENT) {
          out += this.chunk({ tool_calls: [{ index: ev.index, function: { arguments: ev.args.slice(i, i + TOOL_ARG_FRAGMENT) } }] });
        }
      }
    }
    flush();
    return out;
  }
}

// --- chat completions -----------------------------------------------------------------------

async function chatCompletions(ctx: HttpContext, c: Context<HttpEnv>): Promise<Response> {
  const req = c.req.raw;
  const principal = c.var.principal;
  const body = bodyOf(c, ChatRequest);
  const runtime = ctx.agents;
  const agent = selectAgent(runtime, body.model, req.headers);
  const override = modelOverride(runtime, agent, req.headers, principal);
  const { system, conversation } = convertChatMessages(body.messages);
  const { tools, toolChoice } = toolsOf(body);
  const params = paramsOf(body);
  const session = sessionKeyFor(runtime, agent, req.headers, body.user, "openai");
  const stored = session.explicit ? runtime.store.history(session.key) : [];
  const plan = planTurn(stored, conversation);
  if (!plan) return invalidRequest("Missing user message in `messages`.");

  const id = `chatcmpl_${crypto.randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const model = body.model ?? "openclaw";
  const client = clientAbort(req);
  const log = ctx.log;
  const turn = {
    config: runtime.config,
    store: runtime.store,
    agent,
    sessionKey: session.key,
    plan,
    system,
    tools,
    toolChoice,
    params,
    override,
    signal: client.signal,
    channel: messageChannel(req.headers),
    // Without `user` or a session key nobody can ever address this session again: keep no transcript.
    persist: session.explicit,
    env: runtime.env,
    log,
  };

  if (!body.stream) {
    try {
      const { result } = await runtime.runTurn(turn);
      if (toolChoiceUnmet(toolChoice, result)) return oaiError(502, "api_error", TOOL_CHOICE_UNMET);
      const message: Record<string, unknown> = { role: "assistant", content: result.text || (result.toolCalls.length ? "" : EMPTY_REPLY) };
      if (result.toolCalls.length) {
        message.tool_calls = result.toolCalls.map((t) => ({ id: t.id, type: "function", function: { name: t.name, arguments: t.arguments } }));
      }
      return json(200, {
        id,
        object: "chat.completion",
        created,
        model,
        choices: [{ index: 0, message, finish_reason: result.finishReason }],
        usage: chatUsage(result.usage),
      });
    } catch (err) {
      if (client.signal.aborted) log.debug(`chat completion ${id} aborted by the client`);
      throw err;
    } finally {
      client.release();
    }
  }

  // Streaming: the role chunk opens the stream; a turn that produced no output still gets its
  // (fallback) text as one delta before the finish chunk.
  const writer = new ChunkWriter(id, created, model);
  let anyText = false;
  return streamTurn({
    client,
    head: () => writer.chunk({ role: "assistant" }),
    run: (hooks) => runtime.runTurn({ ...turn, ...hooks }),
    frames: (events) => {
      if (!anyText && events.some((e) => e.type === "text" || e.type === "tool")) anyText = true;
      return writer.events(events);
    },
    async end({ result }, sse) {
      if (!anyText) await sse.write(writer.chunk({ content: result.text || (result.toolCalls.length ? "" : EMPTY_REPLY) }));
      if (toolChoiceUnmet(toolChoice, result)) await sse.write(`data: ${JSON.stringify({ error: { message: TOOL_CHOICE_UNMET, type: "api_error" } })}\n\n`);
      await sse.write(writer.chunk({}, result.finishReason));
      if (body.stream_options?.include_usage) await sse.write(writer.usage(result.usage));
    },
    async fail(err, sse) {
      await sse.write(`data: ${JSON.stringify({ error: failureBody(err) })}\n\n`);
      await sse.write(writer.chunk({}, "error"));
    },
    aborted: () => log.debug(`chat completion stream ${id} aborted by the client`),
    blocked: () => log.debug(`chat completion stream ${id}: the client is not reading; holding the upstream back`),
  });
}

// --- routes ---------------------------------------------------------------------------------

export function openAiRoutes(ctx: HttpContext): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  const models = endpoint(ctx, { name: "models", methods: ["GET"], scope: "operator.read" });
  routeAll(app, "/v1/models", ...models, () => json(200, { object: "list", data: listedModelIds(ctx).map(modelObject) }));
  routeAll(app, "/v1/models/*", ...models, (c) => {
    const tail = new URL(c.req.url).pathname.slice("/v1/models/".length);
    let id: string;
    try {
      id = decodeURIComponent(tail);
    } catch {
      return invalidRequest("Invalid model id.");
    }
    if (listedModelIds(ctx).includes(id)) return json(200, modelObject(id));
    if (/^(openclaw($|[/:])|agent:)/i.test(id)) return oaiError(404, "invalid_request_error", `Model '${id}' not found.`);
    return invalidRequest("Invalid model id.");
  });
  routeAll(
    app,
    "/v1/chat/completions",
    ...endpoint(ctx, { name: "chatCompletions", methods: ["POST"], scope: "operator.write" }),
    noIdleTimeout(),
    jsonBody(ChatRequest, BODY_LIMITS.chat),
    (c) => chatCompletions(ctx, c),
  );
  return app;
}
