/**
 * The Bonjour beacon: an mDNS responder (RFC 6762 / DNS-SD RFC 6763) for one
 * `_openclaw-gw._tcp.local` service instance.
 *
 *   start ─(random 0–250 ms)─► probe ×3, 250 ms apart ─► announce ×2, 1 s apart ─► announced
 *            │ no interface: wait            │ conflict: rename "(2)", "host-2"; probe again
 *            │ socket error: retry 1,2,4… s, give up after the last delay (logged once)
 *   announced: answer queries (known-answer suppression, legacy unicast, rate limits),
 *              defend names, re-announce every few interface checks and re-probe when the
 *              interfaces change
 *   stop: goodbye (every record with TTL 0), close the socket
 *
 * Isolation is the point: whatever the network does (no multicast interface, a busy 5353,
 * hostile packets), the beacon logs once, retries a bounded number of times, and never throws
 * or rejects into the gateway.
 */
import type { Answer, Packet } from "dns-packet";
import type { Logger } from "../log/logger.ts";
import { inSubnet, interfaceSignature, listMulticastInterfaces, type MdnsInterface } from "./interfaces.ts";
import { renamedHost, renamedInstance, SERVICE_FQDN, SERVICES_META_FQDN } from "./identity.ts";
import { OnceLog } from "./once.ts";
import {
  addressRecords,
  compareRecordSets,
  hostFqdn,
  instanceFqdn,
  lower,
  readPacket,
  sameName,
  sameRecord,
  serviceRecords,
  toAnswer,
  type BeaconRecords,
  type InPacket,
  type Rec,
} from "./records.ts";
import { createMdnsTransport, errorText, MDNS_PORT, type ErrnoError, type MdnsTransport, type RemoteInfo } from "./transport.ts";

export interface BeaconTiming {
  /** Random wait before the first probe (RFC 6762 §8.1: 0–250 ms). */
  initialDelayMaxMs: number;
  probeIntervalMs: number;
  probeCount: number;
  announceCount: number;
  announceIntervalMs: number;
  /** Interface check period. */
  checkIntervalMs: number;
  /** Unsolicited re-announcement period (rounded to whole interface checks). */
  reannounceMs: number;
  /** Delays between attempts after a socket failure; then give up. */
  retryDelaysMs: number[];
  /** Lost a simultaneous-probe tiebreak: wait, then probe again (§8.2). */
  tiebreakDelayMs: number;
  /** 15 conflicts in 10 s → wait 5 s before probing again (§8.1). */
  conflictBurst: number;
  conflictWindowMs: number;
  conflictBackoffMs: number;
  /** Give up after this many renames/re-probes (a hostile peer could otherwise keep us busy). */
  maxConflicts: number;
  goodbyeWaitMs: number;
  /** Delay before answering with shared records (§6: 20–120 ms). */
  sharedDelayMinMs: number;
  sharedDelayMaxMs: number;
  /** Unicast reply packets per second, all queriers together. */
  maxResponsesPerSecond: number;
}

export const DEFAULT_TIMING: BeaconTiming = {
  initialDelayMaxMs: 250,
  probeIntervalMs: 250,
  probeCount: 3,
  announceCount: 2,
  announceIntervalMs: 1_000,
  checkIntervalMs: 30_000,
  reannounceMs: 120_000,
  retryDelaysMs: [1_000, 2_000, 4_000, 8_000, 16_000, 32_000],
  tiebreakDelayMs: 1_000,
  conflictBurst: 15,
  conflictWindowMs: 10_000,
  conflictBackoffMs: 5_000,
  maxConflicts: 64,
  goodbyeWaitMs: 500,
  sharedDelayMinMs: 20,
  sharedDelayMaxMs: 120,
  maxResponsesPerSecond: 40,
};

export type BeaconState = "idle" | "waiting" | "probing" | "announcing" | "announced" | "retrying" | "failed" | "stopped";

export type BeaconEvent =
  | { type: "announced"; instance: string; host: string }
  | { type: "renamed"; what: "instance" | "host"; from: string; to: string }
  | { type: "state"; state: BeaconState }
  | { type: "goodbye" };

export interface BeaconOptions {
  instanceName: string;
  hostLabel: string;
  port: number;
  txt: string[];
  log: Logger;
  timing?: Partial<BeaconTiming>;
  transport?: () => MdnsTransport;
  interfaces?: () => MdnsInterface[];
  /** UDP port to bind (5353; tests on a virtual link may use another). */
  mdnsPort?: number;
  random?: () => number;
  onEvent?: (event: BeaconEvent) => void;
}

const AUTHORITATIVE_ANSWER = 1 << 10;
const LEGACY_TTL_CAP = 10;

/** A multicast mDNS response (id 0, authoritative). */
function response(answers: Answer[], additionals?: Answer[]): Packet {
  return { type: "response", id: 0, flags: AUTHORITATIVE_ANSWER, answers, additionals };
}

interface ProbeFlags {
  instance: boolean;
  host: boolean;
  lostTiebreak: boolean;
}

export class Beacon {
  private readonly timing: BeaconTiming;
  private readonly log: Logger;
  private readonly once: OnceLog;
  private readonly random: () => number;
  private readonly mdnsPort: number;
  private readonly listInterfaces: () => MdnsInterface[];
  private readonly makeTransport: () => MdnsTransport;

  private _state: BeaconState = "idle";
  private instanceBase: string;
  private hostBase: string;
  private instanceN = 1;
  private hostN = 1;
  private transport?: MdnsTransport;
  private ifaces: MdnsInterface[] = [];
  private ifaceSig = "";
  private records: BeaconRecords;
  /** Bumped whenever a probe/announce run must stop (rename, re-probe, failure, stop). */
  private run = 0;
  /** Bumped whenever the socket is replaced. */
  private session = 0;
  private attempts = 0;
  private conflictTimes: number[] = [];
  private conflictsTotal = 0;
  private flags: ProbeFlags = { instance: false, host: false, lostTiebreak: false };
  private checks = 0;
  private checkTimer?: ReturnType<typeof setInterval>;
  private readonly sleepers = new Set<{ timer: ReturnType<typeof setTimeout>; resolve: () => void }>();
  private readonly lastMulticast = new Map<string, number>();
  private budget = { windowStart: 0, used: 0 };
  private stopping?: Promise<void>;
  /** A boot (interface check + socket open) is under way. */
  private booting = false;

  constructor(private readonly opts: BeaconOptions) {
    this.timing = { ...DEFAULT_TIMING, ...opts.timing };
    this.log = opts.log;
    this.once = new OnceLog(opts.log);
    this.random = opts.random ?? Math.random;
    this.mdnsPort = opts.mdnsPort ?? MDNS_PORT;
    this.listInterfaces = opts.interfaces ?? (() => listMulticastInterfaces());
    this.makeTransport = opts.transport ?? createMdnsTransport;
    this.instanceBase = opts.instanceName;
    this.hostBase = opts.hostLabel;
    this.records = this.buildRecords();
  }

  get state(): BeaconState {
    return this._state;
  }
  get instanceName(): string {
    return renamedInstance(this.instanceBase, this.instanceN);
  }
  get hostLabel(): string {
    return renamedHost(this.hostBase, this.hostN);
  }
  get fqdn(): string {
    return instanceFqdn(this.instanceName);
  }

  /** Begin advertising; returns at once (everything runs in the background). */
  start(): void {
    if (this._state !== "idle") return;
    this.setState("waiting");
    this.checkTimer = setInterval(() => void this.guard("interface check", () => this.check()), this.timing.checkIntervalMs);
    (this.checkTimer as { unref?: () => void }).unref?.();
    void this.sleep(this.random() * this.timing.initialDelayMaxMs).then(() => this.guard("start", () => this.boot()));
  }

  /** Goodbye (TTL 0) when announced, then close the socket. Idempotent, bounded, never rejects. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop().catch(() => undefined);
    return this.stopping;
  }

  // --- lifecycle ---------------------------------------------------------------------------

  private setState(state: BeaconState): void {
    if (this._state === state) return;
    this._state = state;
    this.emit({ type: "state", state });
  }

  private emit(event: BeaconEvent): void {
    try {
      this.opts.onEvent?.(event);
    } catch {}
  }

  /** Run `fn` (sync or async); a throw or rejection is logged once, never passed on. */
  private async guard(what: string, fn: () => void | Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.once.warn(`bug:${what}`, `internal error during ${what}: ${(err as Error).message}`);
    }
  }

  /** A cancellable sleep: `stop()` wakes every sleeper at once. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.sleepers.delete(entry);
          resolve();
        }, Math.max(0, ms)),
        resolve,
      };
      this.sleepers.add(entry);
    });
  }

  private async boot(): Promise<void> {
    if (this.isStopped() || this.booting) return;
    this.booting = true;
    try {
      await this.bootOnce();
    } finally {
      this.booting = false;
    }
  }

  private async bootOnce(): Promise<void> {
    const ifaces = this.safeInterfaces();
    if (ifaces.length === 0) {
      this.setState("waiting");
      this.once.info("no-interface", "no multicast-capable network interface; mDNS advertising waits until one appears");
      return;
    }
    const session = ++this.session;
    const transport = this.makeTransport();
    this.transport = transport;
    try {
      await transport.open(this.mdnsPort, {
        packet: (p, from) => this.onPacket(p, from),
        malformed: (err) => this.once.warn("malformed", `ignoring malformed mDNS packet (${err.message})`),
        error: (err) => this.onFatal(err, session),
        warning: (err) => {
          // ICMP "port unreachable" for a unicast reply to a querier that has gone: routine.
          if (err.code === "ECONNREFUSED") this.log.debug(`mDNS peer went away (${err.message})`);
          else this.once.warn(`warn:${err.code}`, `mDNS socket warning: ${err.code ?? ""} ${err.message}`.replace(/\s+/g, " "));
        },
      });
    } catch (err) {
      this.onFatal(err as ErrnoError, session);
      return;
    }
    if (this.isStopped() || session !== this.session) {
      await transport.close();
      return;
    }
    this.useInterfaces(ifaces);
    void this.guard("probe", () => this.probeAndAnnounce(++this.run));
  }

  private isStopped(): boolean {
    return this._state === "stopped" || this.stopping !== undefined;
  }

  private safeInterfaces(): MdnsInterface[] {
    try {
      return this.listInterfaces();
    } catch (err) {
      this.once.warn("ifaces", `cannot list network interfaces: ${(err as Error).message}`);
      return [];
    }
  }

  private useInterfaces(ifaces: MdnsInterface[]): void {
    this.ifaces = ifaces;
    this.ifaceSig = interfaceSignature(ifaces);
    this.transport?.join(ifaces);
  }

  /** End the current probe/announce run and close the socket; a later boot opens a new one. */
  private dropSocket(): void {
    this.run++;
    this.session++;
    const transport = this.transport;
    this.transport = undefined;
    void transport?.close();
  }

  private onFatal(err: ErrnoError, session: number): void {
    if (this.isStopped() || session !== this.session) return;
    this.dropSocket();
    const max = this.timing.retryDelaysMs.length;
    const detail = errorText(err);
    if (this.attempts >= max) {
      this.setState("failed");
      this.log.warn(`mDNS advertising stopped after ${max + 1} failed attempts (${detail}); the gateway keeps running without it`);
      return;
    }
    const delay = this.timing.retryDelaysMs[this.attempts++];
    this.setState("retrying");
    this.once.warn(`fatal:${err.code ?? err.message}`, `advertise failed (${detail}); retrying in ${delay} ms (attempt ${this.attempts}/${max})`);
    void this.sleep(delay).then(() => {
      if (!this.isStopped() && this._state === "retrying") return this.guard("retry", () => this.boot());
    });
  }

  private check(): void {
    if (this.isStopped() || !["waiting", "announced", "probing", "announcing"].includes(this._state)) return;
    const ifaces = this.safeInterfaces();
    const sig = interfaceSignature(ifaces);
    if (this._state === "waiting") {
      if (ifaces.length > 0) void this.guard("start", () => this.boot());
      return;
    }
    if (sig !== this.ifaceSig) {
      if (ifaces.length === 0) {
        this.log.info("no multicast-capable network interface left; mDNS advertising waits until one appears");
        // Nothing to advertise on: close the socket; the next check boots again once one is back.
        this.dropSocket();
        this.useInterfaces(ifaces);
        this.setState("waiting");
        return;
      }
      this.log.info(`network interfaces changed (${ifaces.map((i) => i.name).join(", ")}); probing again`);
      this.useInterfaces(ifaces);
      void this.guard("re-probe", () => this.probeAndAnnounce(++this.run));
      return;
    }
    const every = Math.max(1, Math.round(this.timing.reannounceMs / this.timing.checkIntervalMs));
    if (this._state === "announced" && ++this.checks % every === 0) {
      void this.guard("re-announce", () => this.announce(this.run, 1));
    }
  }

  private async doStop(): Promise<void> {
    const wasAnnounced = this._state === "announced" || this._state === "announcing";
    this.setState("stopped");
    this.run++;
    this.session++;
    if (this.checkTimer) clearInterval(this.checkTimer);
    for (const s of this.sleepers) {
      clearTimeout(s.timer);
      s.resolve();
    }
    this.sleepers.clear();
    const transport = this.transport;
    this.transport = undefined;
    if (!transport) return;
    if (wasAnnounced && this.ifaces.length > 0) {
      const sends = this.ifaces.map((iface) => transport.send(this.announcePacket(iface, true), { iface }));
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([Promise.all(sends), new Promise((r) => (timer = setTimeout(r, this.timing.goodbyeWaitMs)))]);
      clearTimeout(timer);
      this.emit({ type: "goodbye" });
      this.log.info(`withdrew gateway fqdn=${this.fqdn} (goodbye)`);
    }
    await transport.close();
  }

  // --- probing and announcing -----------------------------------------------------------------

  private buildRecords(): BeaconRecords {
    return serviceRecords({ instance: this.instanceName, host: this.hostLabel, port: this.opts.port, txt: this.opts.txt });
  }

  private async probeAndAnnounce(run: number): Promise<void> {
    for (;;) {
      if (run !== this.run || this.isStopped()) return;
      this.setState("probing");
      this.flags = { instance: false, host: false, lostTiebreak: false };
      const result = await this.probe(run);
      if (result === "aborted") return;
      if (result === "ok") break;
      if (!this.noteConflict()) return;
      if (result === "tiebreak") {
        await this.sleep(this.timing.tiebreakDelayMs);
        continue;
      }
      if (result === "instance") {
        const from = this.instanceName;
        this.instanceN++;
        this.records = this.buildRecords();
        this.log.info(`gateway name conflict resolved; newName=${JSON.stringify(this.instanceName)}`);
        this.emit({ type: "renamed", what: "instance", from, to: this.instanceName });
      } else {
        const from = this.hostLabel;
        this.hostN++;
        this.records = this.buildRecords();
        this.log.info(`hostname conflict resolved; newHostname=${JSON.stringify(`${this.hostLabel}.local`)}`);
        this.emit({ type: "renamed", what: "host", from, to: this.hostLabel });
      }
      if (this.burstExceeded()) await this.sleep(this.timing.conflictBackoffMs);
    }
    if (run !== this.run || this.isStopped()) return;
    this.setState("announcing");
    // Logged after the first announcement: from then on browsers see us and we answer queries.
    await this.announce(run, this.timing.announceCount, () =>
      this.log.info(`advertised gateway fqdn=${this.fqdn} host=${this.hostLabel}.local port=${this.opts.port} state=announced`),
    );
    if (run !== this.run || this.isStopped()) return;
    this.attempts = 0;
    this.setState("announced");
    this.emit({ type: "announced", instance: this.instanceName, host: this.hostLabel });
  }

  /** Count a conflict; false (and state "failed") once the lifetime bound is reached. */
  private noteConflict(): boolean {
    this.conflictsTotal++;
    this.conflictTimes.push(Date.now());
    if (this.conflictsTotal > this.timing.maxConflicts) {
      this.dropSocket();
      this.setState("failed");
      this.log.warn(`mDNS advertising stopped after ${this.timing.maxConflicts} name conflicts; the gateway keeps running without it`);
      return false;
    }
    return true;
  }

  private burstExceeded(): boolean {
    const since = Date.now() - this.timing.conflictWindowMs;
    this.conflictTimes = this.conflictTimes.filter((t) => t >= since);
    return this.conflictTimes.length >= this.timing.conflictBurst;
  }

  private async probe(run: number): Promise<"ok" | "instance" | "host" | "tiebreak" | "aborted"> {
    for (let i = 0; i < this.timing.probeCount; i++) {
      await this.sendAll((iface) => this.probePacket(iface), run);
      await this.sleep(this.timing.probeIntervalMs);
      if (run !== this.run || this.isStopped()) return "aborted";
      if (this.flags.instance) return "instance";
      if (this.flags.host) return "host";
      if (this.flags.lostTiebreak) return "tiebreak";
    }
    return "ok";
  }

  private async announce(run: number, times: number, afterFirst?: () => void): Promise<void> {
    for (let i = 0; i < times; i++) {
      if (run !== this.run || this.isStopped()) return;
      await this.sendAll((iface) => this.announcePacket(iface), run);
      if (i === 0) afterFirst?.();
      if (i < times - 1) await this.sleep(this.timing.announceIntervalMs * 2 ** i);
    }
  }

  private async sendAll(build: (iface: MdnsInterface) => Packet, run: number): Promise<void> {
    for (const iface of this.ifaces) {
      if (run !== this.run || this.isStopped() || !this.transport) return;
      const err = await this.transport.send(build(iface), { iface });
      if (err) this.once.warn(`send:${iface.name}:${err.code ?? err.message}`, `mDNS send on ${iface.name} failed (${errorText(err)})`);
    }
  }

  private ownRecords(iface?: MdnsInterface): Rec[] {
    return [this.records.srv, this.records.txt, ...addressRecords(this.hostLabel, iface ? [iface] : this.ifaces)];
  }

  private probePacket(iface: MdnsInterface): Packet {
    return {
      type: "query",
      id: 0,
      flags: 0,
      questions: [
        { name: this.fqdn, type: "ANY" as never, class: "IN" },
        { name: hostFqdn(this.hostLabel), type: "ANY" as never, class: "IN" },
      ],
      authorities: this.ownRecords(iface).map((r) => toAnswer(r, { flush: false })),
    };
  }

  /** Unsolicited records for one interface: the announcement, or the goodbye (TTL 0, without the shared meta PTR). */
  private announcePacket(iface: MdnsInterface, goodbye = false): Packet {
    const r = this.records;
    const recs = goodbye ? [r.ptr, r.srv, r.txt] : [r.ptr, r.meta, r.srv, r.txt];
    return response([...recs, ...addressRecords(this.hostLabel, [iface])].map((x) => toAnswer(x, goodbye ? { ttl: 0 } : {})));
  }

  // --- incoming packets ---------------------------------------------------------------------

  private onPacket(raw: unknown, from: RemoteInfo): void {
    if (this.isStopped()) return;
    const packet = readPacket(raw);
    if (!packet) return;
    if (packet.kind === "response") this.onResponse(packet);
    else this.onQuery(packet, from);
  }

  private onResponse(p: InPacket): void {
    if (!["probing", "announcing", "announced"].includes(this._state)) return;
    const records = [...p.answers, ...p.additionals].filter((r) => r.ttl > 0);
    const own = this.ownRecords();
    const inst = this.fqdn;
    const instanceConflict = records.some(
      (r) => sameName(r.name, inst) && (r.type === "SRV" || r.type === "TXT") && !own.some((o) => sameRecord(o, r)),
    );
    // Another responder on this machine (avahi) may publish our host name with the same
    // addresses; only a record set sharing none of our addresses is another machine.
    const hostName = hostFqdn(this.hostLabel);
    const hostRecs = records.filter((r) => sameName(r.name, hostName) && (r.type === "A" || r.type === "AAAA"));
    const hostConflict = hostRecs.length > 0 && !hostRecs.some((r) => own.some((o) => sameRecord(o, r)));
    if (!instanceConflict && !hostConflict) return;
    if (this._state === "probing") {
      if (instanceConflict) this.flags.instance = true;
      else this.flags.host = true;
      return;
    }
    // Announced records challenged: probe again (RFC 6762 §9); a real owner answers the probe
    // and we rename, a stray packet changes nothing.
    this.log.info(`conflicting mDNS records seen for ${instanceConflict ? inst : hostName}; probing again`);
    if (this.noteConflict()) void this.guard("re-probe", () => this.probeAndAnnounce(++this.run));
  }

  private onQuery(p: InPacket, from: RemoteInfo): void {
    if (p.questions.length === 0) return;
    if (this._state === "probing" && p.authorities.length > 0) this.tiebreak(p);
    if (this._state !== "announced" && this._state !== "announcing") return;
    const legacy = from.port !== this.mdnsPort;
    const unicast = legacy || p.questions.every((q) => q.qu);
    const matched = this.ifaces.find((i) => inSubnet(from.address, i));
    if (unicast) {
      const reply = this.answer(p, matched ? [matched] : this.ifaces);
      if (reply.answers.length === 0 || !this.takeBudget()) return;
      const ttl = legacy ? (r: Rec) => Math.min(r.ttl, LEGACY_TTL_CAP) : (r: Rec) => r.ttl;
      const packet: Packet = {
        type: "response",
        id: legacy ? p.id : 0,
        flags: AUTHORITATIVE_ANSWER,
        questions: legacy ? p.questions.map((q) => ({ name: q.name, type: q.type as never, class: "IN" as const })) : [],
        answers: reply.answers.map((r) => toAnswer(r, { ttl: ttl(r), flush: legacy ? false : r.flush })),
        additionals: reply.additionals.map((r) => toAnswer(r, { ttl: ttl(r), flush: legacy ? false : r.flush })),
      };
      void this.transport?.send(packet, { address: from.address, port: from.port });
      return;
    }
    const isProbe = p.authorities.length > 0;
    for (const iface of matched ? [matched] : this.ifaces) {
      const reply = this.answer(p, [iface]);
      const now = Date.now();
      const answers = reply.answers.filter((r) => {
        const key = `${iface.name}|${r.type}|${lower(r.name)}|${JSON.stringify(r.data)}`;
        const last = this.lastMulticast.get(key) ?? 0;
        if (now - last < (isProbe ? 250 : 1_000)) return false;
        if (this.lastMulticast.size > 1024) this.lastMulticast.clear();
        this.lastMulticast.set(key, now);
        return true;
      });
      // Multicast answers need no budget: each record goes out at most once a second per interface.
      if (answers.length === 0) continue;
      const packet = response(answers.map((r) => toAnswer(r)), reply.additionals.map((r) => toAnswer(r)));
      const shared = answers.some((r) => !r.flush);
      const min = this.timing.sharedDelayMinMs;
      const delay = shared ? min + this.random() * (this.timing.sharedDelayMaxMs - min) : 0;
      const run = this.run;
      void this.sleep(delay).then(() => {
        if (run === this.run && !this.isStopped()) return this.transport?.send(packet, { iface });
      });
    }
  }

  /**
   * Budget for unicast replies (legacy and QU queries), which the per-record multicast limit does
   * not cover: a flood costs at most this many packets a second and cannot starve multicast
   * answers to ordinary browsers.
   */
  private takeBudget(): boolean {
    const now = Date.now();
    if (now - this.budget.windowStart >= 1_000) this.budget = { windowStart: now, used: 0 };
    if (this.budget.used >= this.timing.maxResponsesPerSecond) {
      this.once.warn("flood", `mDNS query flood: answering at most ${this.timing.maxResponsesPerSecond} queries per second`);
      return false;
    }
    this.budget.used++;
    return true;
  }

  /** Simultaneous probing (§8.2): the lexicographically later record set wins. */
  private tiebreak(p: InPacket): void {
    const inst = this.fqdn;
    const theirsInst = p.authorities.filter((r) => sameName(r.name, inst));
    if (theirsInst.length > 0 && compareRecordSets([this.records.srv, this.records.txt], theirsInst) < 0) {
      this.flags.lostTiebreak = true;
      return;
    }
    const hostName = hostFqdn(this.hostLabel);
    const theirsHost = p.authorities.filter((r) => sameName(r.name, hostName) && (r.type === "A" || r.type === "AAAA"));
    if (theirsHost.length > 0) {
      const ours = addressRecords(this.hostLabel, this.ifaces);
      // Same machine (another gateway process probing the same host name) is not a contest.
      if (theirsHost.some((r) => ours.some((o) => sameRecord(o, r)))) return;
      if (compareRecordSets(ours, theirsHost) < 0) this.flags.lostTiebreak = true;
    }
  }

  /** Answers and additional records for the questions we own (known answers suppressed). */
  private answer(p: InPacket, ifaces: MdnsInterface[]): { answers: Rec[]; additionals: Rec[] } {
    const r = this.records;
    const addrs = addressRecords(this.hostLabel, ifaces);
    const inst = lower(this.fqdn);
    const host = lower(hostFqdn(this.hostLabel));
    const answers: Rec[] = [];
    const additionals: Rec[] = [];
    const add = (list: Rec[], rec: Rec) => {
      if (!list.includes(rec)) list.push(rec);
    };
    for (const q of p.questions) {
      const name = lower(q.name);
      const t = q.type;
      const any = t === "ANY";
      if (name === lower(SERVICE_FQDN) && (t === "PTR" || any)) {
        add(answers, r.ptr);
        for (const x of [r.srv, r.txt, ...addrs]) add(additionals, x);
      } else if (name === lower(SERVICES_META_FQDN) && (t === "PTR" || any)) {
        add(answers, r.meta);
      } else if (name === inst) {
        if (t === "SRV" || any) {
          add(answers, r.srv);
          for (const x of addrs) add(additionals, x);
        }
        if (t === "TXT" || any) add(answers, r.txt);
      } else if (name === host) {
        for (const a of addrs) if (any || t === a.type) add(answers, a);
      }
    }
    const known = p.answers;
    const kept = answers.filter((a) => !known.some((k) => sameRecord(k, a) && k.ttl >= a.ttl / 2));
    return { answers: kept, additionals: kept.length ? additionals.filter((x) => !kept.includes(x)) : [] };
  }
}
