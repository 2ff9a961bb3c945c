/**
 * The official CLI's `openclaw infer model run --gateway --model <provider/model>` against this
 * gateway: the requested model reaches the provider and is what the CLI reports; a model the
 * provider does not know fails the command (exit 1) with the provider's text.
 * Needs the official CLI: OPENCLAW_REF_CLI=/path/to/openclaw (skipped otherwise).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { aiConfig, startAiGateway, type AiHarness } from "../helpers/ai.ts";
import { TEST_TOKEN } from "../helpers/gateway.ts";
import { useTempDirs } from "../helpers/state-dir.ts";

const REF = process.env.OPENCLAW_REF_CLI;
const tempDir = useTempDirs("openclaw-ref-infer-");

describe.skipIf(!REF)("official CLI: infer model run --gateway (set OPENCLAW_REF_CLI to run)", () => {
  let h: AiHarness;
  beforeAll(async () => {
    h = await startAiGateway({ config: aiConfig });
  });
  afterAll(() => h.stop());

  async function infer(model: string): Promise<{ code: number; json: any; stderr: string }> {
    const home = tempDir();
    const state = join(home, ".openclaw");
    mkdirSync(state, { recursive: true });
    const configPath = join(state, "openclaw.json");
    writeFileSync(configPath, JSON.stringify({ gateway: { mode: "remote", remote: { url: h.gw.url, token: TEST_TOKEN } } }));
    const proc = Bun.spawn([REF!, "infer", "model", "run", "--gateway", "--model", model, "--prompt", "hello there", "--json"], {
      env: { PATH: process.env.PATH, HOME: home, OPENCLAW_STATE_DIR: state, OPENCLAW_CONFIG_PATH: configPath, NO_COLOR: "1" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const timer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    clearTimeout(timer);
    return { code, json: JSON.parse(out), stderr: err };
  }

  test("the requested model is sent to the provider and reported", async () => {
    const r = await infer("oai/other-model");
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, transport: "gateway", provider: "oai", model: "other-model", outputs: [{ text: "echo: hello there" }] });
    expect(h.fake.to("/v1/chat/completions").at(-1)!.body.model).toBe("other-model");
  }, 90_000);

  test("a model the provider does not know fails the command with the provider's answer", async () => {
    const r = await infer("oai/status-404");
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ ok: false, error: { message: "fake upstream says 404" } });
    expect(h.gw.logs.some((l) => l.message.includes("reason=model_not_found next=none"))).toBe(true);
  }, 90_000);
});
