/**
 * The OpenAI-compatible API from the compiled binary (the API router is a lazily loaded chunk
 * there): models, chat (stream and not), responses, embeddings through the `openai` SDK, and a
 * session that survives a real process restart.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { compiledBinary } from "../helpers/binary.ts";
import { spawnGateway, type GatewayChild } from "../../scripts/lib/gateway-child.ts";
import { freePort } from "../../scripts/lib/proc.ts";
import { FakeUpstream } from "../fixture/fake-upstream.ts";
import { waitListening } from "../helpers/children.ts";

const TOKEN = "e2e-api-token-0123456789abcdef";
const fake = new FakeUpstream();
const dirs: string[] = [];
const children: GatewayChild[] = [];
let binary = "";
let stateDir = "";

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

async function start(): Promise<{ child: GatewayChild; client: OpenAI }> {
  const port = await freePort();
  const child = spawnGateway({ command: [binary], port, stateDir, cwd: stateDir });
  children.push(child);
  await waitListening(child);
  return { child, client: new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: TOKEN, maxRetries: 0, timeout: 10_000 }) };
}

beforeAll(async () => {
  fake.start();
  binary = await compiledBinary();
  stateDir = tempDir("openclaw-e2e-api-state-");
  const config = {
    gateway: { mode: "local", auth: { mode: "token", token: TOKEN } },
    models: { providers: { fake: { api: "openai-completions", baseUrl: `${fake.url}/v1`, models: [{ id: "echo" }, { id: "embed" }] } } },
    agents: { defaults: { model: "fake/echo" } },
    memory: { search: { provider: "fake", model: "embed" } },
  };
  writeFileSync(join(stateDir, "openclaw.json"), JSON.stringify(config), { mode: 0o600 });
}, 120_000);

afterAll(async () => {
  for (const c of children) await c.stop(3_000);
  await fake.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test("the compiled gateway serves the API and keeps sessions across a process restart", async () => {
  const first = await start();
  expect((await first.client.models.list()).data.map((m) => m.id)).toEqual(["openclaw", "openclaw/default", "openclaw/main"]);
  const r = await first.client.chat.completions.create({ model: "openclaw", user: "eve", messages: [{ role: "user", content: "first turn" }] });
  expect(r.choices[0].message.content).toBe("echo: first turn");
  let streamed = "";
  for await (const c of await first.client.chat.completions.create({ model: "openclaw", stream: true, messages: [{ role: "user", content: "s" }] })) {
    streamed += c.choices[0]?.delta?.content ?? "";
  }
  expect(streamed).toBe("echo: s");
  expect((await first.client.responses.create({ model: "openclaw", input: "resp" })).output_text).toBe("echo: resp");
  expect((await first.client.embeddings.create({ model: "openclaw", input: "vec" })).data[0].embedding).toHaveLength(8);
  expect(await first.child.stop(5_000)).toBe(0);

  fake.reset();
  const second = await start();
  await second.client.chat.completions.create({ model: "openclaw", user: "eve", messages: [{ role: "user", content: "second turn" }] });
  expect(fake.to("/v1/chat/completions")[0].body.messages.map((m: any) => m.content)).toEqual(["first turn", "echo: first turn", "second turn"]);
  expect(await second.child.stop(5_000)).toBe(0);
}, 60_000);
