/**
 * `openclaw licenses`: print the third-party notices embedded in the binary at build time
 * (the Bun runtime with its JavaScriptCore/WebKit LGPL-2 notice, and every bundled package).
 */
import { defineCommand } from "citty";

/** Must match NOTICES_ASSET in scripts/build.ts. */
export const NOTICES_ASSET = "licenses/THIRD-PARTY-NOTICES.txt";

/** The embedded notices, or undefined when running from source (nothing embedded). */
export async function embeddedNotices(): Promise<string | undefined> {
  const blob = Bun.embeddedFiles.find((b) => (b as Blob & { name?: string }).name === NOTICES_ASSET);
  return blob ? await blob.text() : undefined;
}

export default defineCommand({
  meta: { name: "licenses", description: "Print the licences of the runtime and libraries built into this binary" },
  async run() {
    const text = await embeddedNotices();
    if (text === undefined) {
      console.error("No licence notices are embedded: running from source. `bun run build` writes them to dist/THIRD-PARTY-NOTICES.txt.");
      process.exitCode = 1;
      return;
    }
    console.log(text.trimEnd());
  },
});
