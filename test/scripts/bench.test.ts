/**
 * The benchmark suite's moving parts, without timing anything: statistics and the table, the HTTP
 * load generator's framing and error counting, the lean WebSocket client against the real gateway
 * (in-process) and against the reference program, and the runner's argument errors. Benchmarks
 * themselves never run in tests (no timing thresholds).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hasGatewayCall } from "../../scripts/bench/cli.ts";
import { dropPageCache } from "../../scripts/bench/servers.ts";
import { parseOptions } from "../../scripts/bench/index.ts";
import { httpLoad } from "../../scripts/bench/http-load.ts";
import { figure, markdownTable, median, metric, percentile, unavailable, UsageError } from "../../scripts/bench/lib.ts";
import { closeSocket, handshake, openMany, requestOnce } from "../../scripts/bench/ws-client.ts";
import { cleanEnv, freePort, stopChild, waitForPort } from "../../scripts/lib/proc.ts";
import { startTestGateway, TEST_TOKEN, type TestGateway } from "../helpers/gateway.ts";

describe("statistics", () => {
  test("median, nearest-rank percentiles, figure", () => {
    expect(median([])).toBeNull();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNull();
    expect(figure([3, 1, 2, Number.NaN])).toEqual({ median: 2, min: 1, max: 3, runs: 3, samples: [3, 1, 2] });
    expect(figure([])).toEqual({ median: null, min: null, max: null, runs: 0, samples: [] });
  });

  test("metric: ratio of medians and targets on the value or the ratio", () => {
    const fast = metric({
      id: "a",
      label: "A",
      unit: "ms",
      better: "lower",
      openclaw: figure([40, 50, 60]),
      referenceLabel: "ref",
      reference: figure([10, 10, 10]),
      target: { on: "value", op: "<=", limit: 60, text: "≤ 60 ms" },
    });
    expect(fast.ratio).toBe(5);
    expect(fast.met).toBe(true);
    const http = metric({
      id: "b",
      label: "B",
      unit: "/s",
      better: "higher",
      openclaw: figure([70]),
      referenceLabel: "ref",
      reference: figure([100]),
      target: { on: "ratio", op: ">=", limit: 0.8, text: "≥ 80 %" },
    });
    expect(http.ratio).toBe(0.7);
    expect(http.met).toBe(false);
    const paired = metric({
      id: "p",
      label: "P",
      unit: "/s",
      better: "higher",
      openclaw: figure([90, 50]),
      referenceLabel: "ref",
      reference: figure([100, 40]),
      pairedRatio: figure([0.9, 1.25], 3),
      target: { on: "ratio", op: ">=", limit: 0.8, text: "≥ 80 %" },
    });
    // The median of the pairs' ratios, not the ratio of the medians (70/70 = 1).
    expect(paired.ratio).toBe(1.075);
    expect(paired.met).toBe(true);
    expect(markdownTable([paired])).toContain("| 1.075× (0.9–1.25) | ≥ 80 % ✅ met |");
    const none = unavailable("c", "C", "ms", "no such command", { on: "value", op: "<=", limit: 1, text: "≤ 1" });
    expect(none.met).toBeNull();

    const table = markdownTable([fast, http, none]).split("\n");
    expect(table).toHaveLength(5);
    expect(table[2]).toBe("| A | 50 ms (40–60) | 10 ms (10–10)<br>ref | 5× | ≤ 60 ms ✅ met |");
    expect(table[3]).toContain("| 0.7× | ≥ 80 % ❌ not met |");
    expect(table[3]).toContain("70 /s (1 run)");
    expect(table[4]).toContain("not available: no such command");
    expect(table[4]).toContain("(not measured)");
  });
});

describe("HTTP load generator", () => {
  test("counts pipelined 200 responses on every connection", async () => {
    using server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ok") });
    const r = await httpLoad({ port: server.port!, connections: 4, depth: 4, durationMs: 300 });
    expect(r.errors).toBe(0);
    expect(r.ok).toBeGreaterThan(0);
    expect(r.perSecond).toBeGreaterThan(0);
  });

  test("non-200 statuses and responses without Content-Length are errors, with the first one named", async () => {
    using bad = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("no", { status: 503 }) });
    const r = await httpLoad({ port: bad.port!, connections: 1, depth: 1, durationMs: 200 });
    expect(r.ok).toBe(0);
    expect(r.errors).toBeGreaterThan(0);
    expect(r.firstError).toBe("HTTP/1.1 503 Service Unavailable");

    // A raw server answering with a chunked body (no Content-Length).
    const chunked = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(socket) {
          socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n");
        },
      },
    });
    try {
      const c = await httpLoad({ port: chunked.port, connections: 1, depth: 1, durationMs: 200 });
      expect(c.ok).toBe(0);
      expect(c.firstError).toBe("response without Content-Length: HTTP/1.1 200 OK");
    } finally {
      chunked.stop(true);
    }
  });

  test("a closed port ends in bounded time with connect errors", async () => {
    const port = await freePort();
    const t0 = performance.now();
    const r = await httpLoad({ port, connections: 2, depth: 1, durationMs: 300 });
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(r.ok).toBe(0);
    expect(r.errors).toBeGreaterThan(0);
  });
});

describe("WebSocket client against the gateway", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw.stop();
  });

  test("handshake gets hello-ok; a health request answers ok", async () => {
    const { ws, helloBytes } = await handshake(gw.url, TEST_TOKEN);
    expect(helloBytes).toBeGreaterThan(500);
    const reply = JSON.parse(await requestOnce(ws, "health", undefined));
    expect(reply).toMatchObject({ type: "res", ok: true, payload: { ok: true } });
    await closeSocket(ws);
  });

  test("a wrong token is refused with the gateway's error", async () => {
    await expect(handshake(gw.url, "wrong-token-0123456789")).rejects.toThrow(/connect refused: .*unauthorized/);
  });

  test("openMany opens and hands back n sockets that each see a probe broadcast", async () => {
    const sockets = await openMany(gw.url, TEST_TOKEN, 20, 4);
    try {
      expect(sockets).toHaveLength(20);
      const got = sockets.map(
        (ws) =>
          new Promise<string>((resolve) => {
            ws.onmessage = (ev) => {
              const text = String(ev.data);
              if (text.startsWith('{"type":"event","event":"health"')) resolve(text);
            };
          }),
      );
      sockets[0].send(JSON.stringify({ type: "req", id: "p", method: "health", params: { probe: true } }));
      const events = await Promise.all(got.map((p) => Promise.race([p, Bun.sleep(5_000).then(() => "timeout")])));
      expect(events.every((e) => e.startsWith('{"type":"event","event":"health"'))).toBe(true);
    } finally {
      await Promise.all(sockets.map((ws) => closeSocket(ws)));
    }
  });
});

describe("the reference program", () => {
  test("speaks the same frame pattern with the requested sizes, and broadcasts", async () => {
    const port = await freePort();
    const proc = Bun.spawn([process.execPath, join(import.meta.dir, "../../scripts/bench/reference.ts"), "server", String(port), "2000", "700"], {
      env: cleanEnv(),
      stdout: "ignore",
      stderr: "pipe",
    });
    try {
      await waitForPort(port, { timeoutMs: 10_000, exited: proc.exited });
      const { ws, helloBytes } = await handshake(`ws://127.0.0.1:${port}`, undefined);
      expect(Math.abs(helloBytes - 2000)).toBeLessThan(100);
      const reply = await requestOnce(ws, "health", undefined);
      expect(Math.abs(Buffer.byteLength(reply) - 700)).toBeLessThan(100);
      const event = new Promise<string>((resolve) => {
        ws.onmessage = (ev) => {
          if (String(ev.data).startsWith('{"type":"event","event":"health"')) resolve(String(ev.data));
        };
      });
      ws.send(JSON.stringify({ type: "req", id: "b", method: "broadcast" }));
      expect(JSON.parse(await Promise.race([event, Bun.sleep(5_000).then(() => "{}")]))).toMatchObject({ type: "event", event: "health", seq: 1 });
      await closeSocket(ws);
      const http = await fetch(`http://127.0.0.1:${port}/health`);
      expect(await http.text()).toBe('{"ok":true,"status":"live"}');
    } finally {
      expect(await stopChild(proc, 5_000)).toBe(0);
    }
  });

  test("bad arguments exit 2 with the usage", () => {
    const r = Bun.spawnSync([process.execPath, join(import.meta.dir, "../../scripts/bench/reference.ts"), "server", "nope"], { env: cleanEnv(), stderr: "pipe", timeout: 10_000 });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.toString()).toContain("usage: reference server <port> <helloBytes> <replyBytes>");
  });
});

describe("CLI bench: is there a `gateway call`?", () => {
  test("read from `gateway --help`'s COMMANDS section (colours stripped)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "openclaw-bench-cli-test-"));
    try {
      const fake = (name: string, commands: string) => {
        const help = join(dir, `${name}.txt`);
        writeFileSync(help, `\x1b[4mUSAGE\x1b[0m openclaw gateway\n\nOPTIONS\n\n  --call    not a command\n\nCOMMANDS\n\n${commands}\n`);
        const path = join(dir, name);
        writeFileSync(path, `#!/bin/sh\ncat '${help}'\n`);
        chmodSync(path, 0o755);
        return path;
      };
      expect(await hasGatewayCall(fake("with", "   run    Run\n  \x1b[36mcall\x1b[39m    Call a gateway RPC method"), dir)).toBe(true);
      expect(await hasGatewayCall(fake("without", "   run    Run the gateway in the foreground"), dir)).toBe(false);
      expect(await hasGatewayCall(join(dir, "missing"), dir)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("page cache", () => {
  test("dropPageCache succeeds on a file (GNU dd) and reports failure for a missing one", () => {
    const dir = mkdtempSync(join(tmpdir(), "openclaw-bench-cache-"));
    try {
      const f = join(dir, "blob");
      writeFileSync(f, Buffer.alloc(1 << 20, 1));
      if (process.platform !== "linux" || !Bun.which("dd")) {
        expect(dropPageCache(f)).toBe(false);
        return;
      }
      expect(dropPageCache(f)).toBe(true);
      expect(dropPageCache(join(dir, "missing"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("bench runner arguments", () => {
  test("defaults, --quick, and clear errors for bad values", () => {
    const d = parseOptions([]);
    expect(d).toMatchObject({ quick: false, runs: 5, clients: 1000, durationMs: 1000, leaveMs: 2000, pin: true, coldCache: true });
    expect(parseOptions(["--quick"])).toMatchObject({ runs: 3, clients: 200, durationMs: 300, leaveMs: 500 });
    expect(parseOptions(["--leave-ms", "12000"])).toMatchObject({ leaveMs: 12000 });
    expect(() => parseOptions(["--leave-ms", "-1"])).toThrow(UsageError);
    expect(parseOptions(["--help"])).toBe("help");
    expect(() => parseOptions(["--runs", "0"])).toThrow(new UsageError('--runs must be an integer from 1 to 50 (got "0")'));
    expect(() => parseOptions(["--clients", "lots"])).toThrow(UsageError);
    expect(() => parseOptions(["--binary", "/nonexistent/openclaw"])).toThrow("--binary /nonexistent/openclaw does not exist (run `bun run build` first)");
    expect(() => parseOptions(["--frobnicate"])).toThrow(UsageError);
  });
});

describe("paging out a process's executable (the working-set figures)", () => {
  test("advises the executable's mappings of a live process; a missing process or mapping is a reason, not a throw", async () => {
    const { pageOutExecutable } = await import("../../scripts/bench/pageout.ts");
    if (process.platform !== "linux") {
      expect(await pageOutExecutable(process.pid, process.execPath)).toEqual({ error: `not supported on ${process.platform}` });
      return;
    }
    const child = Bun.spawn([process.execPath, "-e", "setInterval(() => {}, 1000)"], { stdout: "ignore", stderr: "ignore" });
    try {
      await Bun.sleep(200);
      const r = await pageOutExecutable(child.pid, process.execPath);
      if (process.getuid?.() === 0) expect("bytes" in r && r.bytes > 0).toBe(true);
      else expect("error" in r || ("bytes" in r && r.bytes > 0)).toBe(true);
      expect(await pageOutExecutable(child.pid, "/nonexistent/binary")).toEqual({ error: `no mapping of binary in pid ${child.pid}` });
    } finally {
      child.kill();
      await child.exited;
    }
    const gone = await pageOutExecutable(2 ** 22 + 12345, process.execPath);
    expect("error" in gone).toBe(true);
  });
});

describe("primitives (what a runtime feature costs a bare compiled server)", () => {
  test.skipIf(process.platform !== "linux")("one round: every feature and all together measured from a compiled child, JSON written", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "openclaw-primitives-test-")), "p.json");
    const proc = Bun.spawn([process.execPath, join(import.meta.dir, "../../scripts/bench/primitives.ts"), "--runs", "1", "--idle-ms", "0", "--json", out], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    expect(code).toBe(0);
    const report = JSON.parse(await Bun.file(out).text());
    const names = report.rows.map((r: { features: string }) => r.features);
    expect(names).toEqual(["none", "sqlite", "watch", "async-fs", "random", "hash", "ed25519", "json5", "intl", "gc", "all of the above"]);
    for (const row of report.rows) {
      expect(row.samples).toHaveLength(1);
      expect(row.rssMB).toBeGreaterThan(1);
    }
    // Async file reads start Bun's file thread pool and fs.watch its own thread: both show.
    const threads = Object.fromEntries(report.rows.map((r: { features: string; threads: number }) => [r.features, r.threads]));
    expect(threads["async-fs"]).toBeGreaterThan(threads.none);
    expect(threads.watch).toBeGreaterThan(threads.none);
    expect(stdout).toContain("| all of the above |");
    rmSync(join(out, ".."), { recursive: true, force: true });
  }, 120_000);

  test("bad arguments are refused", async () => {
    const proc = Bun.spawn([process.execPath, join(import.meta.dir, "../../scripts/bench/primitives.ts"), "--runs", "0"], { stdout: "pipe", stderr: "pipe" });
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    expect(code).toBe(2);
    expect(stderr).toContain("--runs must be an integer from 1 to 20");
  });
});
