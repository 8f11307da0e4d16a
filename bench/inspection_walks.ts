/**
 * The walk thread of `bench/inspection.ts`: a worker that fetches inspection paths one after the
 * other, round after round, recording how long each took, until it is told to stop.
 *
 * @module
 */

/** Milliseconds each fetch took, by path. */
export type WalkTimes = Record<string, number[]>;

/** What the worker is told: where to fetch and what, then `"stop"`. */
type Message = { httpPort: number; paths: string[] } | "stop";

const scope = self as unknown as {
  onmessage: (event: MessageEvent<Message>) => void;
  postMessage(times: WalkTimes): void;
};

let stopping = false;

scope.onmessage = async (event) => {
  const message = event.data;
  if (message === "stop") {
    stopping = true;
    return;
  }
  const times: WalkTimes = Object.fromEntries(message.paths.map((path) => [path, []]));
  while (!stopping) {
    for (const path of message.paths) {
      const started = performance.now();
      const response = await fetch(`http://127.0.0.1:${message.httpPort}${path}`);
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}`);
      times[path]!.push(performance.now() - started);
    }
  }
  scope.postMessage(times);
};
