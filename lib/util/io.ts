/**
 * Byte I/O helpers that every part of pkgindex needs: writing a whole buffer (a single `write`
 * may take only part of it) and closing a resource that may already be closed.
 *
 * @module
 */

/** Anything bytes can be read from, such as a `Deno.Conn`. */
export interface ByteSource {
  /** Reads into `buffer`; resolves to the byte count, or `null` at the end of the stream. */
  read(buffer: Uint8Array): Promise<number | null>;
}

/** Anything bytes can be written to asynchronously, such as a `Deno.Conn`. */
export interface ByteWriter {
  /** Writes some of `bytes`; resolves to how many were written. */
  write(bytes: Uint8Array): Promise<number>;
}

/** Anything bytes can be written to synchronously, such as `Deno.stdout`. */
export interface SyncByteWriter {
  /** Writes some of `bytes`; returns how many were written. */
  writeSync(bytes: Uint8Array): number;
}

/**
 * Writes all of `bytes`, calling `write` again for whatever a call left unwritten.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeAll } from "./io.ts";
 *
 * const chunks: number[] = [];
 * // A writer that takes at most 2 bytes per call, as a busy socket might.
 * const writer = { write: (bytes: Uint8Array) => Promise.resolve(chunks.push(Math.min(2, bytes.length)) && Math.min(2, bytes.length)) };
 * await writeAll(writer, new Uint8Array(5));
 * assert.deepEqual(chunks, [2, 2, 1]);
 * ```
 */
export async function writeAll(writer: ByteWriter, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await writer.write(bytes.subarray(written));
}

/**
 * Writes all of `bytes` synchronously, as {@linkcode writeAll} does asynchronously.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeAllSync } from "./io.ts";
 *
 * const chunks: number[] = [];
 * const writer = { writeSync: (bytes: Uint8Array) => chunks.push(Math.min(4, bytes.length)) && Math.min(4, bytes.length) };
 * writeAllSync(writer, new Uint8Array(10));
 * assert.deepEqual(chunks, [4, 4, 2]);
 * ```
 */
export function writeAllSync(writer: SyncByteWriter, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length) written += writer.writeSync(bytes.subarray(written));
}

const encoder = new TextEncoder();

/**
 * Writes `text` as UTF-8 to `writer` synchronously: how the command line prints.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeText } from "./io.ts";
 *
 * const written: Uint8Array[] = [];
 * writeText({ writeSync: (bytes) => written.push(bytes.slice()) && bytes.length }, "snow ☃\n");
 * assert.equal(new TextDecoder().decode(written[0]), "snow ☃\n");
 * ```
 */
export function writeText(writer: SyncByteWriter, text: string): void {
  writeAllSync(writer, encoder.encode(text));
}

/**
 * Closes `resource`, ignoring the error of one that is already closed (by the peer's reset, an
 * idle sweep or shutdown): there is nothing left to release then.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { closeQuietly } from "./io.ts";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * closeQuietly(listener);
 * assert.doesNotThrow(() => closeQuietly(listener)); // already closed: nothing to do
 * ```
 */
export function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch {
    // Already closed.
  }
}
