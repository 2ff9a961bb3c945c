/**
 * Byte streams to events: Server-Sent Events and newline-delimited JSON. Both yield batches
 * (everything one network read completed), so a fast upstream costs one await per read rather
 * than one per event. `touch` is called for every read (the idle watchdog).
 */

export interface SseEvent {
  event?: string;
  data: string;
}

async function* lines(body: ReadableStream<Uint8Array>, touch: () => void): AsyncGenerator<string[]> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let rest = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      touch();
      const text = done ? rest + decoder.decode() : rest + decoder.decode(value, { stream: true });
      const parts = text.split("\n");
      rest = done ? "" : (parts.pop() ?? "");
      if (done && parts.length && parts[parts.length - 1] === "") parts.pop();
      if (parts.length) yield parts;
      if (done) return;
    }
  } finally {
    reader.releaseLock();
  }
}

/** Parse an SSE body. Comments and `id:`/`retry:` fields are ignored. */
export async function* sseBatches(body: ReadableStream<Uint8Array>, touch: () => void = () => {}): AsyncGenerator<SseEvent[]> {
  let event: string | undefined;
  let data: string[] = [];
  for await (const batch of lines(body, touch)) {
    const out: SseEvent[] = [];
    for (let line of batch) {
      if (line.endsWith("\r")) line = line.slice(0, -1);
      if (line === "") {
        if (data.length) out.push({ event, data: data.join("\n") });
        event = undefined;
        data = [];
        continue;
      }
      if (line.charCodeAt(0) === 58 /* : */) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.charCodeAt(0) === 32) value = value.slice(1);
      if (field === "data") data.push(value);
      else if (field === "event") event = value;
    }
    if (out.length) yield out;
  }
  if (data.length) yield [{ event, data: data.join("\n") }];
}

/** Parse a newline-delimited JSON body (Ollama). Blank lines are skipped; bad JSON throws. */
export async function* ndjsonBatches(body: ReadableStream<Uint8Array>, touch: () => void = () => {}): AsyncGenerator<unknown[]> {
  for await (const batch of lines(body, touch)) {
    const out: unknown[] = [];
    for (const line of batch) {
      const t = line.trim();
      if (t) out.push(JSON.parse(t));
    }
    if (out.length) yield out;
  }
}
