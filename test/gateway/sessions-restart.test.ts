/** Session transcripts survive a gateway restart (same state dir, fresh process state). */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { FakeUpstream } from "../fixture/fake-upstream.ts";
import { startAiGateway } from "../helpers/ai.ts";
import { connectParams, connectRaw, tempDir } from "../helpers/gateway.ts";

const fake = new FakeUpstream();
const stateDir = tempDir("openclaw-restart-");
beforeAll(() => fake.start());
afterAll(async () => {
  await fake.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

test("history carried across two turns and across a restart; previous_response_id too", async () => {
  const first = await startAiGateway({ fake, stateDir });
  await first.client.chat.completions.create({ model: "openclaw", user: "bob", messages: [{ role: "user", content: "turn one" }] });
  await first.client.chat.completions.create({ model: "openclaw", user: "bob", messages: [{ role: "user", content: "turn two" }] });
  const resp = await first.client.responses.create({ model: "openclaw", input: "remember me" });
  expect(fake.to("/v1/chat/completions")[1].body.messages.map((m: any) => m.content)).toEqual(["You are main.", "turn one", "echo: turn one", "turn two"]);
  await first.stop();

  fake.reset();
  const second = await startAiGateway({ fake, stateDir });
  try {
    expect(second.gw.handle.agents.store.count()).toBe(2);
    await second.client.chat.completions.create({ model: "openclaw", user: "bob", messages: [{ role: "user", content: "turn three" }] });
    expect(fake.to("/v1/chat/completions")[0].body.messages.map((m: any) => m.content)).toEqual([
      "You are main.",
      "turn one",
      "echo: turn one",
      "turn two",
      "echo: turn two",
      "turn three",
    ]);
    const next = await second.client.responses.create({ model: "openclaw", input: "still there?", previous_response_id: resp.id });
    expect(next.output_text).toBe("echo: still there?");
    expect(fake.to("/v1/chat/completions")[1].body.messages.map((m: any) => m.content)).toEqual(["You are main.", "remember me", "echo: remember me", "still there?"]);
  } finally {
    await second.stop();
  }
});

test("an unusable state database keeps the gateway up: /readyz reports it, chat answers 503", async () => {
  const dir = tempDir("openclaw-baddb-");
  try {
    // A directory where the database file should be: SQLite cannot open it.
    const { mkdirSync } = await import("node:fs");
    mkdirSync(`${dir}/openclaw.sqlite`);
    const h = await startAiGateway({ fake, stateDir: dir });
    try {
      const ready = await fetch(`${h.base}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as any).failing).toContain("state-database");
      const res = await fetch(`${h.base}/v1/chat/completions`, { method: "POST", headers: h.headers, body: JSON.stringify({ messages: [{ role: "user", content: "x" }] }) });
      expect(res.status).toBe(503);
      expect(((await res.json()) as any).error.message).toContain("session store unavailable");
      expect((await fetch(`${h.base}/v1/models`, { headers: h.headers })).status).toBe(200);
      const { peer } = await connectRaw(h.gw.url, connectParams({ scopes: ["operator.write"] }));
      peer.send({ type: "req", id: "c", method: "chat.send", params: { sessionKey: "main", message: "x", idempotencyKey: "k1" } });
      const refused = await peer.frame();
      expect(refused.ok).toBe(false);
      expect(refused.error.code).toBe("UNAVAILABLE");
      expect(refused.error.message).toContain("session store unavailable");
      peer.close();
    } finally {
      await h.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
