/** Body reading limits of the API routes, exercised directly (the 30 s default is too long for a test). */
import { describe, expect, test } from "bun:test";
import { ApiError, readJsonBody } from "../../src/gateway/http/common.ts";

function stalled(first = "{"): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      c.enqueue(new TextEncoder().encode(first));
    },
    pull() {
      return new Promise(() => {});
    },
  });
}

async function errorOf(p: Promise<unknown>): Promise<{ status: number; body: any }> {
  const err = await p.then(
    () => undefined,
    (e) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  const res = (err as ApiError).getResponse();
  return { status: res.status, body: await res.json() };
}

describe("readJsonBody", () => {
  test("empty body → {}; JSON → value", async () => {
    expect(await readJsonBody(new Request("http://x/", { method: "POST" }), 100)).toEqual({});
    expect(await readJsonBody(new Request("http://x/", { method: "POST", body: '{"a":1}' }), 100)).toEqual({ a: 1 });
  });

  test("a body that stops arriving → 408 Request body timeout (chunked and with Content-Length)", async () => {
    const chunked = new Request("http://x/", { method: "POST", body: stalled() });
    expect(await errorOf(readJsonBody(chunked, 1000, 50))).toEqual({ status: 408, body: { error: { message: "Request body timeout", type: "invalid_request_error" } } });
    const sized = new Request("http://x/", { method: "POST", body: stalled(), headers: { "content-length": "10" } });
    expect((await errorOf(readJsonBody(sized, 1000, 50))).status).toBe(408);
  });

  test("too large → 413 from Content-Length or from counted chunks", async () => {
    const declared = new Request("http://x/", { method: "POST", body: "x".repeat(20), headers: { "content-length": "20" } });
    expect(await errorOf(readJsonBody(declared, 10))).toEqual({ status: 413, body: { error: { message: "Payload too large", type: "invalid_request_error" } } });
    const chunks = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 5; i++) c.enqueue(new Uint8Array(8));
        c.close();
      },
    });
    expect((await errorOf(readJsonBody(new Request("http://x/", { method: "POST", body: chunks }), 16))).status).toBe(413);
  });

  test("invalid JSON → 400 invalid_request_error with the parser's message", async () => {
    const r = await errorOf(readJsonBody(new Request("http://x/", { method: "POST", body: "{nope" }), 100));
    expect(r.status).toBe(400);
    expect(r.body.error.type).toBe("invalid_request_error");
    expect(r.body.error.message.length).toBeGreaterThan(0);
  });
});
