/**
 * The mDNS socket, through `multicast-dns`: one IPv4 UDP socket on 5353 (shared with avahi and
 * other responders via SO_REUSEADDR), group memberships per interface, and sends that go out on
 * one chosen interface at a time.
 *
 * Nothing here may throw into an event loop callback: every socket event is caught and handed
 * to the owner as `error` (fatal: the socket is unusable), `warning` (it still works) or
 * `malformed` (a packet that did not decode).
 */
import { createSocket, type Socket } from "node:dgram";
import type { Packet } from "dns-packet";
import makeMdns from "multicast-dns";
import type { MdnsInterface } from "./interfaces.ts";

export const MDNS_GROUP = "224.0.0.251";
export const MDNS_PORT = 5353;

export interface RemoteInfo {
  address: string;
  port: number;
}

export type ErrnoError = Error & { code?: string };

export interface TransportEvents {
  /** A decoded packet; its shape is untrusted. */
  packet(packet: unknown, from: RemoteInfo): void;
  malformed(err: Error): void;
  /** The socket cannot be used any more (bind failure, EACCES, EADDRINUSE). */
  error(err: ErrnoError): void;
  warning(err: ErrnoError): void;
}

export type Destination = { iface: MdnsInterface } | { address: string; port: number };

export interface MdnsTransport {
  /** Bind `port` (0 = any) on 0.0.0.0; rejects when the socket cannot be bound. */
  open(port: number, events: TransportEvents): Promise<void>;
  /** Join the mDNS group on these interfaces (and leave the ones no longer listed). */
  join(ifaces: MdnsInterface[]): void;
  /** Encode and send; resolves (never rejects) with the send error, if any. */
  send(packet: Packet, to: Destination): Promise<ErrnoError | undefined>;
  close(): Promise<void>;
}

interface RawSend {
  send(packet: Packet, to: { address: string; port: number }, cb: (err?: Error | null) => void): void;
}

const SEND_TIMEOUT_MS = 1_000;
const CLOSE_TIMEOUT_MS = 1_000;

/** `EADDRINUSE: bind failed`, or just the message when there is no code. */
export function errorText(err: ErrnoError): string {
  return `${err.code ? `${err.code}: ` : ""}${err.message}`;
}

function asError(err: unknown): ErrnoError {
  return err instanceof Error ? (err as ErrnoError) : new Error(String(err));
}

export function createMdnsTransport(): MdnsTransport {
  let socket: Socket | undefined;
  let mdns: ReturnType<typeof makeMdns> | undefined;
  let events: TransportEvents | undefined;
  let closed = false;
  let opened = false;
  const joined = new Map<string, string>(); // interface name -> ipv4 joined on
  let chain: Promise<unknown> = Promise.resolve();

  const fatal = (err: unknown) => {
    if (closed || !opened) return;
    try {
      events?.error(asError(err));
    } catch {}
  };

  return {
    open(port, ev) {
      events = ev;
      return new Promise<void>((resolve, reject) => {
        let settled = false;
        const fail = (err: unknown) => {
          if (settled) return fatal(err);
          settled = true;
          reject(asError(err));
        };
        try {
          socket = createSocket({ type: "udp4", reuseAddr: true });
          // The library decodes packets and emits events; we bind and manage memberships
          // ourselves (`bind: false`, `multicast: false`: no 5 s polling timer of its own).
          mdns = makeMdns({ socket, port, bind: false, multicast: false, ip: MDNS_GROUP });
          mdns.on("error", (err: unknown) => fail(err));
          mdns.on("warning", (err: unknown) => {
            const e = asError(err);
            try {
              // Socket errors carry errno codes (ENETUNREACH …); decoder errors have none or a
              // Node `ERR_…` code (a read past the end of the buffer).
              if (e.code && !e.code.startsWith("ERR_")) ev.warning(e);
              else ev.malformed(e);
            } catch {}
          });
          mdns.on("packet", (packet: unknown, rinfo: { address?: unknown; port?: unknown }) => {
            try {
              ev.packet(packet, { address: String(rinfo?.address ?? ""), port: Number(rinfo?.port ?? 0) });
            } catch (err) {
              try {
                ev.warning(asError(err));
              } catch {}
            }
          });
          socket.bind(port, "0.0.0.0", () => {
            if (settled) return;
            try {
              socket!.setMulticastTTL(255);
              socket!.setMulticastLoopback(true);
            } catch (err) {
              try {
                ev.warning(asError(err));
              } catch {}
            }
            settled = true;
            opened = true;
            resolve();
          });
        } catch (err) {
          fail(err);
        }
      });
    },

    join(ifaces) {
      if (!socket || closed) return;
      const wanted = new Map(ifaces.map((i) => [i.name, i.ipv4]));
      for (const [name, ip] of [...joined]) {
        if (wanted.get(name) === ip) continue;
        try {
          socket.dropMembership(MDNS_GROUP, ip);
        } catch {}
        joined.delete(name);
      }
      for (const [name, ip] of wanted) {
        if (joined.get(name) === ip) continue;
        try {
          socket.addMembership(MDNS_GROUP, ip);
          joined.set(name, ip);
        } catch (err) {
          const e = asError(err);
          // Already a member (a membership left over from an earlier address) is fine.
          if (e.code === "EADDRINUSE") joined.set(name, ip);
          else {
            try {
              events?.warning(Object.assign(e, { message: `join ${MDNS_GROUP} on ${name} (${ip}): ${e.message}` }));
            } catch {}
          }
        }
      }
    },

    send(packet, to) {
      const job = chain.then(
        () =>
          new Promise<ErrnoError | undefined>((resolve) => {
            if (!socket || !mdns || closed) return resolve(new Error("mDNS socket closed"));
            let done = false;
            const finish = (err?: ErrnoError) => {
              if (done) return;
              done = true;
              clearTimeout(timer);
              resolve(err);
            };
            const timer = setTimeout(() => finish(Object.assign(new Error("mDNS send timed out"), { code: "ETIMEDOUT" })), SEND_TIMEOUT_MS);
            try {
              let dest: { address: string; port: number };
              if ("iface" in to) {
                // Sends are serialised, so the interface chosen here is the one this packet uses.
                socket.setMulticastInterface(to.iface.ipv4);
                dest = { address: MDNS_GROUP, port: MDNS_PORT };
              } else dest = { address: to.address, port: to.port };
              // `send` exists on the instance but is missing from @types/multicast-dns.
              (mdns as unknown as RawSend).send(packet, { ...dest }, (err?: Error | null) => finish(err ? asError(err) : undefined));
            } catch (err) {
              finish(asError(err));
            }
          }),
      );
      chain = job.catch(() => undefined);
      return job;
    },

    close() {
      if (closed) return Promise.resolve();
      closed = true;
      return new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        try {
          for (const ip of joined.values()) {
            try {
              socket?.dropMembership(MDNS_GROUP, ip);
            } catch {}
          }
          joined.clear();
          if (mdns) mdns.destroy(() => done());
          else done();
        } catch {
          done();
        }
      });
    },
  };
}
