/** The streaming fast path must agree with JSON.parse on every input it accepts, and decline the rest. */
import { describe, expect, test } from "bun:test";
import { fastContentDelta } from "../../src/providers/openai-completions.ts";
import { sseBatches } from "../../src/providers/wire.ts";

const chunk = (delta: unknown, extra: Record<string, unknown> = {}, finish: string | null = null) =>
  JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "m", ...extra, choices: [{ index: 0, delta, finish_reason: finish }] });

describe("fastContentDelta", () => {
  const texts = ["hello", "", 'say "hi"', "back\\slash", "trailing\\", "\\\"", "new\nline\ttab", "ünïcødé ✓ 🎉", "\u0000\u001f", "</script>", '{"nested":"json"}', "\\u0041"];
  test.each(texts)("content %j round-trips exactly", (text) => {
    const data = chunk({ content: text });
    expect(fastContentDelta(data)).toBe(JSON.parse(data).choices[0].delta.content);
  });

  test("accepts the common variants (logprobs, system_fingerprint, usage:null)", () => {
    expect(fastContentDelta('{"id":"x","choices":[{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}]}')).toBe("a");
    expect(fastContentDelta('{"id":"x","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}],"usage":null}')).toBe("a");
    expect(fastContentDelta('{"id":"x","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}],"system_fingerprint":"fp_1"}')).toBe("a");
  });

  test("declines anything else", () => {
    const declined = [
      chunk({ role: "assistant", content: "" }),
      chunk({ content: "a" }, {}, "stop"),
      chunk({ content: "a", tool_calls: [] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: "{" } }] }),
      JSON.stringify({ id: "x", choices: [{ index: 0, delta: { content: "a" }, finish_reason: null }], usage: { prompt_tokens: 1 } }),
      JSON.stringify({ error: { message: "boom" }, choices: [{ index: 0, delta: { content: "a" }, finish_reason: null }] }),
      JSON.stringify({ id: "x", choices: [{ index: 0, delta: { content: "a" }, finish_reason: null }, { index: 1, delta: { content: "b" }, finish_reason: null }] }),
      JSON.stringify({ model: '"choices":[{"index":0,"delta":{"content":"', choices: [] }),
      '{"choices":[{"index":0,"delta":{"content":"unterminated',
      "[DONE]",
      "not json",
    ];
    for (const d of declined) expect(fastContentDelta(d)).toBeUndefined();
  });
});

describe("sseBatches", () => {
  const body = (parts: string[]) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        for (const p of parts) c.enqueue(new TextEncoder().encode(p));
        c.close();
      },
    });
  const all = async (parts: string[]) => {
    const out = [];
    for await (const b of sseBatches(body(parts))) out.push(...b);
    return out;
  };

  test("events split across reads, CRLF (also split between CR and LF), comments, multi-line data", async () => {
    expect(await all(["data: a\n", "\ndata: b\n\n"])).toEqual([{ data: "a" }, { data: "b" }]);
    expect(await all(["event: x\r", "\ndata: 1\r\n\r", "\n"])).toEqual([{ event: "x", data: "1" }]);
    expect(await all([": keepalive\n\ndata: l1\ndata: l2\n\n"])).toEqual([{ data: "l1\nl2" }]);
    expect(await all(["data: tail-without-blank-line"])).toEqual([{ data: "tail-without-blank-line" }]);
    expect(await all(["data:nospace\n\n"])).toEqual([{ data: "nospace" }]);
  });
});
