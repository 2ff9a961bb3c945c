/**
 * The benchmark reference, compiled with the same options as openclaw (scripts/bench/servers.ts):
 *
 *   reference server <port> <helloBytes> <replyBytes>
 *     A bare `Bun.serve` on 127.0.0.1:<port>. HTTP: every request gets the body /health returns
 *     (`{"ok":true,"status":"live"}`), a hello world. WebSocket: the same frame pattern as the
 *     gateway with none of its work (no validation, auth, scopes, presence): a challenge event on
 *     open; a reply padded to <helloBytes> to the first request and to <replyBytes> to later ones;
 *     a request with method "broadcast" also publishes one event of <replyBytes> to every socket.
 *
 *   reference version
 *     Print one line and exit (the reference for `openclaw --version`).
 *
 *   reference client <ws url>
 *     Open, answer the challenge, send one request, wait for its reply, exit 0 (the CLI
 *     benchmark's reference for `openclaw gateway call health`).
 */
export {};

const [mode, ...rest] = process.argv.slice(2);

function pad(bytes: number, frame: (filler: string) => string): (id: string) => string {
  const base = frame("").length;
  const filler = "x".repeat(Math.max(0, bytes - base - 40));
  return (id) => frame(filler).replace("__ID__", id);
}

if (mode === "server") {
  const port = Number(rest[0]);
  const helloBytes = Number(rest[1] ?? 0);
  const replyBytes = Number(rest[2] ?? 0);
  if (!(port > 0) || !(helloBytes >= 0) || !(replyBytes >= 0)) {
    console.error("usage: reference server <port> <helloBytes> <replyBytes>");
    process.exit(2);
  }
  const hello = pad(helloBytes, (f) => `{"type":"res","id":"__ID__","ok":true,"payload":{"type":"hello-ok","filler":"${f}"}}`);
  const reply = pad(replyBytes, (f) => `{"type":"res","id":"__ID__","ok":true,"payload":{"ok":true,"filler":"${f}"}}`);
  const eventFiller = "x".repeat(Math.max(0, replyBytes - 80));
  const body = '{"ok":true,"status":"live"}';
  let seq = 0;
  const server = Bun.serve<{ greeted: boolean }>({
    hostname: "127.0.0.1",
    port,
    development: false,
    fetch(req, srv) {
      if (req.headers.get("upgrade")?.toLowerCase() === "websocket") {
        return srv.upgrade(req, { data: { greeted: false } }) ? undefined : new Response("upgrade failed", { status: 400 });
      }
      return new Response(body, { headers: { "Content-Type": "application/json" } });
    },
    websocket: {
      data: {} as { greeted: boolean },
      perMessageDeflate: false,
      open(ws) {
        ws.subscribe("all");
        ws.send(`{"type":"event","event":"connect.challenge","payload":{"nonce":"${crypto.randomUUID()}","ts":${Date.now()}}}`);
      },
      message(ws, message) {
        let frame: { id?: unknown; method?: unknown };
        try {
          frame = JSON.parse(String(message));
        } catch {
          ws.close(1000, "bad json");
          return;
        }
        const id = typeof frame.id === "string" ? frame.id : "";
        if (!ws.data.greeted) {
          ws.data.greeted = true;
          ws.send(hello(id));
          return;
        }
        if (frame.method === "broadcast") {
          server.publish("all", `{"type":"event","event":"health","payload":{"filler":"${eventFiller}"},"seq":${++seq}}`, false);
        }
        ws.send(reply(id));
      },
    },
  });
  const stop = () => {
    server.stop(true);
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} else if (mode === "version") {
  console.log("reference 1.0.0");
} else if (mode === "client") {
  const url = rest[0];
  if (!url) {
    console.error("usage: reference client <ws url>");
    process.exit(2);
  }
  const timer = setTimeout(() => {
    console.error("reference client: no reply within 10 s");
    process.exit(1);
  }, 10_000);
  const ws = new WebSocket(url);
  let step = 0;
  ws.onmessage = () => {
    step++;
    if (step === 1) ws.send('{"type":"req","id":"c","method":"connect","params":{}}');
    else if (step === 2) ws.send('{"type":"req","id":"h","method":"health"}');
    else {
      clearTimeout(timer);
      ws.close();
      process.exit(0);
    }
  };
  ws.onerror = () => {
    console.error(`reference client: cannot connect to ${url}`);
    process.exit(1);
  };
} else {
  console.error("usage: reference server <port> <helloBytes> <replyBytes> | reference client <ws url> | reference version");
  process.exit(2);
}
