/**
 * Local-provider preflight against a real loopback server and a closed port, with the
 * per-endpoint cache driven by a hand clock.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createPreflight, probeUrl } from "../../src/automation/preflight.ts";
import { ManualClock } from "./helpers.ts";

let server: ReturnType<typeof Bun.serve>;
let hits: string[] = [];
let closedPort = 0;

beforeAll(() => {
  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      hits.push(new URL(req.url).pathname);
      return Response.json({ data: [] });
    },
  });
  const spare = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  closedPort = spare.port!;
  spare.stop(true);
});
afterAll(() => server.stop(true));

test("which endpoints are probed, and where", () => {
  expect(probeUrl({ provider: "vllm", baseUrl: "http://127.0.0.1:8000/v1" })).toBe("http://127.0.0.1:8000/v1/models");
  expect(probeUrl({ provider: "ollama", baseUrl: "http://localhost:11434", api: "ollama" })).toBe("http://localhost:11434/api/tags");
  expect(probeUrl({ provider: "ollama", baseUrl: "http://box.local:11434/v1", api: "ollama" })).toBe("http://box.local:11434/api/tags");
  expect(probeUrl({ provider: "lan", baseUrl: "http://192.168.1.5:1234/v1/" })).toBe("http://192.168.1.5:1234/v1/models");
  expect(probeUrl({ provider: "openai", baseUrl: "https://api.example.com/v1" })).toBeUndefined();
  expect(probeUrl({ provider: "x", baseUrl: "http://127.0.0.1:1/v1", api: "anthropic-messages" })).toBeUndefined();
  expect(probeUrl({ provider: "x", baseUrl: "not a url" })).toBeUndefined();
});

test("an unreachable local provider skips; a reachable fallback or a remote one lets the turn run; results are cached 5 min", async () => {
  hits = [];
  const clock = new ManualClock(0);
  const pf = createPreflight({ clock, timeoutMs: 1000 });
  const up = { provider: "fake", baseUrl: `http://127.0.0.1:${server.port}/v1` };
  const down = { provider: "dead", baseUrl: `http://127.0.0.1:${closedPort}/v1` };
  expect(await pf.check([up])).toBeUndefined();
  expect(hits).toEqual(["/v1/models"]);
  expect(await pf.check([down])).toBe(`local model provider unreachable: dead (http://127.0.0.1:${closedPort})`);
  expect(await pf.check([down, up])).toBeUndefined();
  expect(await pf.check([down, { provider: "openai", baseUrl: "https://api.example.com/v1" }])).toBeUndefined();
  expect(await pf.check([])).toBeUndefined();
  // Cached: no new probe within 5 minutes, one after.
  await pf.check([up]);
  expect(hits.length).toBe(1);
  clock.t += 300_000;
  await pf.check([up]);
  expect(hits.length).toBe(2);
});
