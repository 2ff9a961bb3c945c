import { describe, expect, test } from "bun:test";
import { listenersOnPort, parseProcNetTcp, portIsFree } from "../../src/system/ports.ts";

describe("listeners on a port", () => {
  test("parses /proc/net/tcp and tcp6 LISTEN rows", () => {
    const v4 = [
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
      "   0: 0100007F:4A65 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0",
      "   1: 0100007F:4A65 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 99999 1 0000000000000000 100 0 0 10 0",
      "   2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 22222 1 0000000000000000 100 0 0 10 0",
    ].join("\n");
    expect([...parseProcNetTcp(v4, 0x4a65, false)]).toEqual([["12345", "127.0.0.1:19045"]]);
    const v6 = [
      "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
      "   0: 00000000000000000000000001000000:4A65 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 33333 1 0000000000000000 100 0 0 10 0",
    ].join("\n");
    expect([...parseProcNetTcp(v6, 0x4a65, true)]).toEqual([["33333", "[::1]:19045"]]);
  });

  test.skipIf(process.platform !== "linux")("finds this process listening, then the port is free again", async () => {
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = server.port;
    try {
      const found = await listenersOnPort(port);
      expect(found.map((l) => l.pid)).toContain(process.pid);
      expect(found.find((l) => l.pid === process.pid)?.address).toBe(`127.0.0.1:${port}`);
      expect(await portIsFree(port)).toBe(false);
    } finally {
      server.stop(true);
    }
    expect(await portIsFree(port)).toBe(true);
    expect(await listenersOnPort(port)).toEqual([]);
  });
});
