/**
 * `models.list`'s published-catalog controls (capability `published-model-catalog`): the
 * provider filter, `includeDetails`, the preparedOnly/refresh exclusion, and the official CLI's
 * `models list`, which refuses a gateway that does not advertise the capability.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { isLocalEndpoint } from "../../src/gateway/methods/models.ts";
import { GatewayClient, GatewayRequestError } from "../../src/protocol/client.ts";
import { startTestGateway, TEST_TOKEN, type TestGateway } from "../helpers/gateway.ts";
import { officialCli } from "../helpers/ref-cli.ts";
import { useTempDirs } from "../helpers/state-dir.ts";

const REF = process.env.OPENCLAW_REF_CLI;
const tempDir = useTempDirs("openclaw-models-catalog-");

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    config: {
      gateway: { mode: "local", auth: { mode: "token", token: TEST_TOKEN } },
      models: {
        providers: {
          lan: {
            baseUrl: "http://127.0.0.1:9/v1",
            api: "openai-completions",
            models: [{ id: "qwen3-vl", name: "Qwen 3 VL", input: ["text", "image"], contextWindow: 128000, contextTokens: 96000 }],
          },
          cloud: { baseUrl: "https://api.example.invalid/v1", api: "openai-completions", models: [{ id: "big", name: "Big", contextWindow: 200000 }] },
        },
      },
      agents: { entries: { main: { default: true, model: "lan/qwen3-vl" }, helper: { model: "anthropic/claude-x" } } },
    },
  });
});
afterAll(async () => {
  await gw.stop();
});

const connect = () => GatewayClient.connect({ url: gw.url, token: TEST_TOKEN, connectTimeoutMs: 5000, requestTimeoutMs: 5000 });

async function rpcError(c: GatewayClient, params: unknown): Promise<GatewayRequestError> {
  const err = await c.request("models.list", params).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GatewayRequestError);
  return err as GatewayRequestError;
}

describe("models.list published catalog", () => {
  test("hello-ok advertises published-model-catalog", async () => {
    const c = await connect();
    expect(c.hello.features.capabilities).toContain("published-model-catalog");
    await c.close();
  });

  test("includeDetails adds input, contextTokens and local; without it the rows stay as they were", async () => {
    const c = await connect();
    const plain = await c.request<any>("models.list", { view: "all" });
    expect(plain.models).toEqual([
      { id: "qwen3-vl", name: "Qwen 3 VL", provider: "lan", contextWindow: 128000, available: true, tags: ["default"] },
      { id: "big", name: "Big", provider: "cloud", contextWindow: 200000, available: true },
      { id: "claude-x", name: "claude-x", provider: "anthropic", available: true },
    ]);
    const detailed = await c.request<any>("models.list", { view: "all", includeDetails: true });
    expect(detailed.models).toEqual([
      { id: "qwen3-vl", name: "Qwen 3 VL", provider: "lan", contextWindow: 128000, contextTokens: 96000, input: ["text", "image"], local: true, available: true, tags: ["default"] },
      { id: "big", name: "Big", provider: "cloud", contextWindow: 200000, local: false, available: true },
      // A ref to a provider with no configured endpoint: nothing to classify.
      { id: "claude-x", name: "claude-x", provider: "anthropic", available: true },
    ]);
    await c.close();
  });

  test("provider keeps one provider's rows, case-insensitively; an unknown provider is refused", async () => {
    const c = await connect();
    expect((await c.request<any>("models.list", { view: "all", provider: "CLOUD" })).models.map((m: any) => m.id)).toEqual(["big"]);
    expect((await c.request<any>("models.list", { view: "all", provider: "anthropic" })).models.map((m: any) => m.id)).toEqual(["claude-x"]);
    const err = await rpcError(c, { view: "all", provider: "nope" });
    expect(err.code).toBe("INVALID_REQUEST");
    expect(err.message).toBe("Unknown model catalog provider. Use a provider id from the installed plugins or configured providers.");
    expect((await rpcError(c, { provider: "" })).message).toStartWith("invalid models.list params: at /provider:");
    await c.close();
  });

  test("preparedOnly and refresh together are invalid params; each alone reads the catalog", async () => {
    const c = await connect();
    const err = await rpcError(c, { preparedOnly: true, refresh: true });
    expect(err.code).toBe("INVALID_REQUEST");
    expect(err.message).toContain("preparedOnly and refresh are mutually exclusive");
    expect((await c.request<any>("models.list", { refresh: true })).models.length).toBeGreaterThan(0);
    expect((await c.request<any>("models.list", { preparedOnly: true })).models.length).toBeGreaterThan(0);
    await c.close();
  });

  test("local endpoints: loopback, unspecified, .local; not a LAN or public host, not a bad URL", () => {
    for (const u of ["http://localhost:11434", "http://127.0.0.2:8080/v1", "http://[::1]:1234", "http://0.0.0.0:80", "http://[::]:80", "http://gpu-box.local:8000", "http://LOCALHOST"]) {
      expect([u, isLocalEndpoint(u)]).toEqual([u, true]);
    }
    for (const u of ["http://10.0.0.5:8000", "https://api.example.com/v1", "http://localhost.example.com", "not a url", ""]) {
      expect([u, isLocalEndpoint(u)]).toEqual([u, false]);
    }
  });
});

describe.skipIf(!REF)("the official CLI's models list against this gateway (set OPENCLAW_REF_CLI to run)", () => {
  const models = (args: string[]) =>
    officialCli(REF!, ["models", "list", ...args], tempDir(), { config: { gateway: { mode: "remote", remote: { url: gw.url, token: TEST_TOKEN } } } });

  test("--json lists the gateway's models with their details", async () => {
    const r = await models(["--json"]);
    expect(r.stderr).not.toContain("does not support required capability");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.count).toBe(3);
    expect(out.models[0]).toMatchObject({ key: "lan/qwen3-vl", name: "Qwen 3 VL", input: "text+image", contextWindow: 128000, contextTokens: 96000, local: true, available: true, tags: ["default"] });
    expect(out.models.map((m: any) => m.key)).toEqual(["lan/qwen3-vl", "cloud/big", "anthropic/claude-x"]);
  }, 90_000);

  test("--provider filters; an unknown provider fails the command with the gateway's answer", async () => {
    const one = await models(["--provider", "cloud", "--json"]);
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout).models.map((m: any) => m.key)).toEqual(["cloud/big"]);
    const bad = await models(["--provider", "nope"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr + bad.stdout).toContain("Unknown model catalog provider.");
  }, 90_000);
});
