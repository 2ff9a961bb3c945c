/**
 * Who listens on a TCP port. Linux reads /proc/net/tcp{,6} (LISTEN sockets → inodes) and maps
 * inodes to processes through /proc/<pid>/fd, so it works on a bare Pi or VPS without lsof.
 * macOS uses `lsof`, Windows `netstat -ano`. Everything is best effort and never throws.
 */
import { readdir, readFile, readlink } from "node:fs/promises";
import { systemRunner } from "../service/exec.ts";

export interface Listener {
  pid: number;
  /** Short process name (comm / image name). */
  name: string;
  /** Full command line when readable. */
  command?: string;
  /** `host:port` the socket is bound to, when known. */
  address?: string;
}

const TCP_LISTEN = "0A";

function decodeV4(hex: string): string {
  // /proc stores the address as a little-endian 32-bit word.
  const n = Number.parseInt(hex, 16);
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255].join(".");
}

function decodeV6(hex: string): string {
  const words: string[] = [];
  for (let i = 0; i < 32; i += 8) {
    const w = hex.slice(i, i + 8);
    // each 32-bit word is little-endian
    const bytes = [w.slice(6, 8), w.slice(4, 6), w.slice(2, 4), w.slice(0, 2)].join("");
    words.push(bytes.slice(0, 4), bytes.slice(4, 8));
  }
  const text = words.map((g) => g.replace(/^0{1,3}/, "").toLowerCase() || "0").join(":");
  if (text === "0:0:0:0:0:0:0:0") return "::";
  if (text === "0:0:0:0:0:0:0:1") return "::1";
  const mapped = /^0:0:0:0:0:ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(text);
  if (mapped) {
    const hi = Number.parseInt(mapped[1], 16);
    const lo = Number.parseInt(mapped[2], 16);
    return `::ffff:${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return text.replace(/(^|:)0(:0)+(:|$)/, "::");
}

/** LISTEN sockets on `port` from one /proc/net table: inode → address. */
export function parseProcNetTcp(text: string, port: number, v6: boolean): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 10 || cols[3] !== TCP_LISTEN) continue;
    const [addrHex, portHex] = cols[1].split(":");
    if (Number.parseInt(portHex, 16) !== port) continue;
    const addr = v6 ? decodeV6(addrHex) : decodeV4(addrHex);
    out.set(cols[9], v6 ? `[${addr}]:${port}` : `${addr}:${port}`);
  }
  return out;
}

async function linuxListeners(port: number): Promise<Listener[]> {
  const inodes = new Map<string, string>();
  for (const [file, v6] of [["/proc/net/tcp", false], ["/proc/net/tcp6", true]] as const) {
    const text = await readFile(file, "utf8").catch(() => "");
    for (const [inode, addr] of parseProcNetTcp(text, port, v6)) if (inode !== "0") inodes.set(inode, addr);
  }
  if (inodes.size === 0) return [];
  const found = new Map<number, Listener>();
  const pids = (await readdir("/proc").catch(() => [] as string[])).filter((d) => /^\d+$/.test(d));
  // Bounded concurrency: opening every process's fd directory at once can exhaust fds on busy hosts.
  const scan = async (pidText: string) => {
    const fds = await readdir(`/proc/${pidText}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pidText}/fd/${fd}`).catch(() => "");
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (!m || !inodes.has(m[1])) continue;
      const pid = Number(pidText);
      const existing = found.get(pid);
      if (existing) {
        const addr = inodes.get(m[1])!;
        if (existing.address && !existing.address.split(", ").includes(addr)) existing.address += `, ${addr}`;
        continue;
      }
      const info = await processInfo(pid);
      found.set(pid, { pid, name: info.name, command: info.command, address: inodes.get(m[1]) });
    }
  };
  for (let i = 0; i < pids.length; i += 16) await Promise.all(pids.slice(i, i + 16).map(scan));
  return [...found.values()].sort((a, b) => a.pid - b.pid);
}

/** Name and command line of a process (Linux /proc; elsewhere `ps`). */
export async function processInfo(pid: number): Promise<{ name: string; command?: string }> {
  if (process.platform === "linux") {
    const name = (await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "")).trim();
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    const command = cmdline.split("\0").filter(Boolean).join(" ") || undefined;
    return { name: name || "unknown", command };
  }
  if (process.platform === "win32") return { name: "unknown" };
  const out = await run(["ps", "-o", "comm=", "-o", "args=", "-p", String(pid)]);
  const line = out.trim();
  return { name: line.split(/\s+/)[0]?.split("/").pop() || "unknown", command: line || undefined };
}

/** A helper program's stdout ("" when it cannot run); bounded to 5 s. */
async function run(cmd: string[]): Promise<string> {
  return (await systemRunner(cmd, { timeoutMs: 5000 })).stdout;
}

async function lsofListeners(port: number): Promise<Listener[]> {
  const out = await run(["lsof", "-nP", `-iTCP:${port}`, "-sTCP:LISTEN", "-FpcnT"]);
  const found: Listener[] = [];
  let cur: Listener | undefined;
  for (const line of out.split("\n")) {
    const tag = line[0];
    const value = line.slice(1);
    if (tag === "p") {
      cur = { pid: Number(value), name: "unknown" };
      found.push(cur);
    } else if (cur && tag === "c") cur.name = value;
    else if (cur && tag === "n") cur.address = cur.address ? `${cur.address}, ${value}` : value;
  }
  return found;
}

async function netstatListeners(port: number): Promise<Listener[]> {
  const out = await run(["netstat", "-ano", "-p", "tcp"]);
  const pids = new Map<number, string>();
  for (const line of out.split(/\r?\n/)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 5 || !/^LISTENING$/i.test(cols[3])) continue;
    if (!cols[1].endsWith(`:${port}`)) continue;
    pids.set(Number(cols[4]), cols[1]);
  }
  const found: Listener[] = [];
  for (const [pid, address] of pids) {
    const csv = await run(["tasklist", "/FI", `PID eq ${pid}`, "/FO", "CSV", "/NH"]);
    const name = /^"([^"]+)"/.exec(csv.trim())?.[1] ?? "unknown";
    found.push({ pid, name, address });
  }
  return found;
}

export async function listenersOnPort(port: number): Promise<Listener[]> {
  if (process.platform === "linux") return linuxListeners(port);
  if (process.platform === "win32") return netstatListeners(port);
  return lsofListeners(port);
}

/** True when nothing accepts connections on 127.0.0.1:port and a listener could bind it. */
export async function portIsFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  try {
    const server = Bun.listen({ hostname: host, port, socket: { data() {} } });
    server.stop(true);
    return true;
  } catch {
    return false;
  }
}

/** A free TCP port on 127.0.0.1 (bind port 0, read it, release it). */
export function freePort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

/** One TCP connect attempt: true when something accepted the connection within `timeoutMs`. */
export function tcpOpen(port: number, host = "127.0.0.1", timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    Bun.connect({
      hostname: host,
      port,
      socket: {
        open(socket) {
          socket.end();
          finish(true);
        },
        data() {},
        error() {
          finish(false);
        },
        connectError() {
          finish(false);
        },
      },
    }).catch(() => finish(false));
  });
}
