/**
 * An in-memory multicast link for beacon and browser tests: transports attached to one
 * `FakeLink` see each other's multicast packets (and their own, like IP_MULTICAST_LOOP) and
 * unicast packets addressed to them. Packets go through dns-packet's real encoder and decoder,
 * so what a test sees is what would be on the wire. Nothing touches the network.
 */
import * as packet from "dns-packet";
import type { Packet } from "dns-packet";
import type { MdnsInterface } from "../../src/discovery/interfaces.ts";
import type { Destination, ErrnoError, MdnsTransport, RemoteInfo, TransportEvents } from "../../src/discovery/transport.ts";

export interface Sent {
  from: string;
  fromPort: number;
  to: Destination;
  packet: Packet;
  decoded: any;
}

export class FakeLink {
  readonly members = new Set<FakeTransport>();
  readonly sent: Sent[] = [];
  /** Make the next `open()` calls fail with this error code (one per entry). */
  readonly openFailures: string[] = [];

  transport(address: string): FakeTransport {
    return new FakeTransport(this, address);
  }

  /** Inject a raw datagram (decoded like a real socket would, possibly failing) to every member. */
  inject(bytes: Uint8Array, from: RemoteInfo = { address: "192.0.2.99", port: 5353 }): void {
    for (const m of this.members) m.receiveRaw(bytes, from);
  }

  /** Inject an encoded packet (a query or response from a test peer). */
  injectPacket(p: Packet, from: RemoteInfo = { address: "192.0.2.99", port: 5353 }, to?: string): void {
    const bytes = packet.encode(p);
    for (const m of this.members) if (!to || m.address === to) m.receiveRaw(bytes, from);
  }

  deliver(sender: FakeTransport, p: Packet, to: Destination): void {
    const bytes = packet.encode(p);
    const decoded = packet.decode(bytes);
    this.sent.push({ from: sender.address, fromPort: sender.port, to, packet: p, decoded });
    const from = { address: sender.address, port: sender.port };
    for (const m of this.members) {
      if ("iface" in to) {
        if (m.port === 5353) m.receiveRaw(bytes, from);
      } else if (m.address === to.address && m.port === to.port) m.receiveRaw(bytes, from);
    }
    this.onSend?.({ from: sender.address, fromPort: sender.port, to, packet: p, decoded });
  }

  onSend?: (s: Sent) => void;

  /** Packets a test peer at `address:port` received by unicast. */
  unicastTo(address: string, port: number): Sent[] {
    return this.sent.filter((s) => !("iface" in s.to) && s.to.address === address && s.to.port === port);
  }
}

export class FakeTransport implements MdnsTransport {
  port = 0;
  private events?: TransportEvents;
  closed = false;
  joined: string[] = [];

  constructor(
    private readonly link: FakeLink,
    readonly address: string,
  ) {}

  async open(port: number, events: TransportEvents): Promise<void> {
    const failure = this.link.openFailures.shift();
    if (failure) throw Object.assign(new Error(`bind ${failure}`), { code: failure });
    this.port = port === 0 ? 40000 + Math.floor(Math.random() * 20000) : port;
    this.events = events;
    this.link.members.add(this);
  }

  join(ifaces: MdnsInterface[]): void {
    this.joined = ifaces.map((i) => i.name);
  }

  async send(p: Packet, to: Destination): Promise<ErrnoError | undefined> {
    if (this.closed) return new Error("closed");
    await Promise.resolve();
    this.link.deliver(this, p, to);
    return undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.link.members.delete(this);
  }

  /** Fail the socket as a kernel error would. */
  fail(code: string): void {
    this.events?.error(Object.assign(new Error(`socket ${code}`), { code }));
  }

  receiveRaw(bytes: Uint8Array, from: RemoteInfo): void {
    if (this.closed || !this.events) return;
    const events = this.events;
    setTimeout(() => {
      if (this.closed) return;
      let decoded: unknown;
      try {
        decoded = packet.decode(Buffer.from(bytes));
      } catch (err) {
        events.malformed(err as Error);
        return;
      }
      events.packet(decoded, from);
    }, 0);
  }
}

export function iface(name: string, ipv4: string, ipv6: string[] = []): MdnsInterface {
  return { name, ipv4, netmask: "255.255.255.0", ipv6 };
}

/** Wait (bounded) until `cond()` is true. */
export async function until(cond: () => boolean, timeoutMs = 3000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 10_000; i++) {
    if (cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
  throw new Error(`gave up waiting for ${what}`);
}

export const FAST = {
  initialDelayMaxMs: 5,
  probeIntervalMs: 20,
  announceIntervalMs: 20,
  checkIntervalMs: 50,
  reannounceMs: 100,
  retryDelaysMs: [20, 40, 80],
  tiebreakDelayMs: 30,
  conflictBackoffMs: 30,
  goodbyeWaitMs: 100,
  sharedDelayMinMs: 1,
  sharedDelayMaxMs: 5,
};
