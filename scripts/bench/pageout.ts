/**
 * What a process really needs of its executable: ask the kernel to page out the clean pages of
 * another process's executable mappings (`process_madvise(MADV_PAGEOUT)`, Linux 5.10+), the way
 * memory pressure would, then let the caller send it work and see what comes back. The benchmark
 * uses it on the gateway and on the bare reference alike, to separate pages that startup touched
 * once from the working set of serving requests (docs/benchmarks.md).
 *
 * Needs the right to ptrace the process and CAP_SYS_NICE (root does); returns a reason when the
 * kernel refuses. Dev tooling only: the gateway itself never does this.
 */
import { readFileSync } from "node:fs";

const SYS_PIDFD_OPEN = 434; // the same number on x86_64 and the generic table (arm64)
const SYS_PROCESS_MADVISE = 440;
const MADV_PAGEOUT = 21;

let libc: { symbols: { syscall: (...args: Array<number | bigint | unknown>) => number | bigint } } | undefined;

async function syscall(): Promise<(...args: Array<number | bigint | unknown>) => number | bigint> {
  if (!libc) {
    const { dlopen, FFIType } = await import("bun:ffi");
    const l = dlopen("libc.so.6", {
      syscall: { args: [FFIType.i64, FFIType.i64, FFIType.ptr, FFIType.u64, FFIType.i64, FFIType.u64], returns: FFIType.i64 },
    });
    libc = l as unknown as typeof libc;
  }
  return libc!.symbols.syscall;
}

/** Page out the file-backed mappings of `path` in process `pid`. Returns bytes advised, or the reason it could not. */
export async function pageOutExecutable(pid: number, path: string): Promise<{ bytes: number } | { error: string }> {
  if (process.platform !== "linux") return { error: `not supported on ${process.platform}` };
  const name = path.split("/").pop()!;
  let maps: string;
  try {
    maps = readFileSync(`/proc/${pid}/maps`, "utf8");
  } catch (e) {
    return { error: (e as Error).message };
  }
  const call = await syscall();
  const pidfd = Number(call(SYS_PIDFD_OPEN, pid, 0, 0, 0, 0));
  if (pidfd < 0) return { error: "pidfd_open failed" };
  let bytes = 0;
  try {
    for (const line of maps.split("\n")) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s+(.*)$/.exec(line);
      if (!m || !m[3].endsWith(`/${name}`)) continue;
      const iov = new BigUint64Array([BigInt(`0x${m[1]}`), BigInt(`0x${m[2]}`) - BigInt(`0x${m[1]}`)]);
      const r = Number(call(SYS_PROCESS_MADVISE, pidfd, iov, 1, MADV_PAGEOUT, 0));
      if (r < 0) return { error: "process_madvise(MADV_PAGEOUT) was refused (needs CAP_SYS_NICE and Linux 5.10+)" };
      bytes += r;
    }
  } finally {
    const { closeSync } = await import("node:fs");
    closeSync(pidfd);
  }
  return bytes > 0 ? { bytes } : { error: `no mapping of ${name} in pid ${pid}` };
}
