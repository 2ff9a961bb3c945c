/**
 * The dashboard's built files as the server sees them: path under the UI root, content type,
 * bytes, precompressed variants, and whether the name is content-hashed (then cacheable
 * forever). The bytes come from the files ./assets.generated.ts imports (on disk when run from
 * source, embedded in a compiled binary), read once on first use and kept (about 100 KB).
 */
import { UI_BUILD_ID, UI_FILES } from "./assets.generated.ts";

export { UI_BUILD_ID };

/** One entry of the generated table (paths are file paths from `import … with {type:"file"}`). */
export interface GeneratedUiFile {
  path: string;
  file: string;
  gzip: string;
  br: string;
  contentType: string;
  immutable: boolean;
  size: number;
}

export interface UiAsset {
  /** Path under the UI root without a leading slash, e.g. "assets/main-1a2b3c4d.js". */
  path: string;
  contentType: string;
  body: Uint8Array;
  gzip?: Uint8Array;
  br?: Uint8Array;
  /** Content-hashed name: `Cache-Control: public, max-age=31536000, immutable`. */
  immutable: boolean;
}

let loaded: Promise<Map<string, UiAsset>> | undefined;

async function read(path: string): Promise<Uint8Array> {
  return new Uint8Array(await Bun.file(path).arrayBuffer());
}

/** All dashboard files by path (loaded on the first call, then cached). */
export function uiAssets(): Promise<Map<string, UiAsset>> {
  loaded ??= (async () => {
    const map = new Map<string, UiAsset>();
    await Promise.all(
      UI_FILES.map(async (f) => {
        const [body, gzip, br] = await Promise.all([read(f.file), read(f.gzip), read(f.br)]);
        map.set(f.path, { path: f.path, contentType: f.contentType, body, gzip, br, immutable: f.immutable });
      }),
    );
    return map;
  })();
  loaded.catch(() => {
    // a failed read is retried on the next request
    loaded = undefined;
  });
  return loaded;
}

export async function uiAsset(path: string): Promise<UiAsset | undefined> {
  return (await uiAssets()).get(path);
}

/** Sizes of the built files (for figures and tests), without reading them. */
export function uiFileSizes(): Array<{ path: string; size: number }> {
  return UI_FILES.map((f) => ({ path: f.path, size: f.size }));
}
