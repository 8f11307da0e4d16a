/**
 * Waiting helpers the tests share: gathering a stream's batches, and waiting for a server to stop
 * reading from a client that does not read.
 *
 * @module
 */

/** Every item of every batch `batches` yields, in order. */
export async function collect<T>(batches: AsyncIterable<T[]>): Promise<T[]> {
  const all: T[] = [];
  for await (const batch of batches) all.push(...batch);
  return all;
}

/**
 * Resolves once a server has stopped reading: `received`, its count of bytes received, is above 0
 * and holds still between two readings 100 ms apart. A server stops reading from a client that
 * does not read its replies once the socket buffers are full and its write waits.
 */
export async function untilReadingStops(received: () => number | Promise<number>): Promise<void> {
  let previous = -1;
  for (let current = await received(); current === 0 || current !== previous;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    [previous, current] = [current, await received()];
  }
}
