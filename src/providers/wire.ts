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

function parseBlock(block: string, out: SseEvent[]): void {
  // Fast path: the common single-line `data: …` event.
  if (block.startsWith("data: ") && block.indexOf("\n") < 0) {
    out.push({ data: block.slice(6) });
    return;
  }
  let event: string | undefined;
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line === "" || line.charCodeAt(0) === 58 /* : */) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") event = value;
  }
  if (data.length) out.push({ event, data: data.join("\n") });
}

/** Parse an SSE body (events end at a blank line; CRLF is accepted). Comments, `id:` and `retry:` are ignored. */
export async function* sseBatches(body: ReadableStream<Uint8Array>, touch: () => void = () => {}): AsyncGenerator<SseEvent[]> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let rest = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      touch();
      let text = rest + (done ? decoder.decode() : decoder.decode(value, { stream: true }));
      // A CR at the very end may be the first half of a CRLF split across reads: keep it back.
      const heldCr = !done && text.endsWith("\r");
      if (heldCr) text = text.slice(0, -1);
      if (text.indexOf("\r") >= 0) text = text.replace(/\r\n?/g, "\n");
      const out: SseEvent[] = [];
      let from = 0;
      for (;;) {
        const end = text.indexOf("\n\n", from);
        if (end < 0) break;
        if (end > from) parseBlock(text.slice(from, end), out);
        from = end + 2;
      }
      rest = heldCr ? `${text.slice(from)}\r` : text.slice(from);
      if (done && rest.trim()) parseBlock(rest.replace(/\n+$/, ""), out);
      if (out.length) yield out;
      if (done) return;
    }
  } finally {
    reader.releaseLock();
  }
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
