import { deepStrictEqual, rejects } from "node:assert/strict";
import { send } from "../../lib/protocol/client.ts";
import { createLogger } from "../../lib/util/log.ts";
import { serve } from "../../lib/server/server.ts";
import { collect } from "../support/async_helpers.ts";

const quiet = createLogger({ level: "error", write: () => {} });

/**
 * Starts a TCP server on 127.0.0.1 that reads `expectBytes` bytes from its first connection,
 * writes `reply` and closes. Returns its port and a promise of its end.
 */
function fakeServer(expectBytes: number, reply: string): { port: number; done: Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    const conn = await listener.accept();
    listener.close();
    const buffer = new Uint8Array(expectBytes);
    let received = 0;
    while (received < expectBytes) {
      const count = await conn.read(buffer.subarray(received));
      if (count === null) break;
      received += count;
    }
    await conn.write(new TextEncoder().encode(reply));
    conn.close();
  })();
  return { port: listener.addr.port, done };
}

Deno.test("send yields each reply of the server, in order", async () => {
  const server = serve({ hostname: "127.0.0.1", port: 0, logger: quiet });
  const replies = await collect(
    send([["INDEX|gmp|", "QUERY|gmp|"], ["QUERY|isl|", "bogus"]], {
      hostname: "127.0.0.1",
      port: server.addr.port,
    }),
  );
  deepStrictEqual(replies, ["OK", "OK", "FAIL", "ERROR"]);
  await server.shutdown();
});

Deno.test("send yields replies while later messages are still to be sent", async () => {
  const server = serve({ hostname: "127.0.0.1", port: 0, logger: quiet });
  let firstReplySeen: () => void = () => {};
  const seen = new Promise<void>((resolve) => firstReplySeen = resolve);
  // The second batch exists only once the first reply came back, as when a person types.
  async function* typed(): AsyncGenerator<string[]> {
    yield ["INDEX|gmp|"];
    await seen;
    yield ["QUERY|gmp|"];
  }
  const replies: string[] = [];
  for await (const batch of send(typed(), { hostname: "127.0.0.1", port: server.addr.port })) {
    replies.push(...batch);
    firstReplySeen();
  }
  deepStrictEqual(replies, ["OK", "OK"]);
  await server.shutdown();
});

Deno.test("send names the server when nothing listens on its port", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  await rejects(
    collect(send([["QUERY|gmp|"]], { hostname: "127.0.0.1", port })),
    new Error(`Cannot connect to 127.0.0.1:${port}: Connection refused (os error 111)`),
  );
});

Deno.test("send rejects a reply that is not OK, FAIL or ERROR", async () => {
  const fake = fakeServer("QUERY|gmp|\n".length, "HELLO\n");
  await rejects(
    collect(send([["QUERY|gmp|"]], { hostname: "127.0.0.1", port: fake.port })),
    new Error(
      `Cannot use the reply from 127.0.0.1:${fake.port}: expected OK, FAIL or ERROR, got "HELLO"`,
    ),
  );
  await fake.done;
});

Deno.test("send reports a reply line too long to be a reply", async () => {
  const fake = fakeServer("QUERY|gmp|\n".length, "x".repeat(100) + "\n");
  await rejects(
    collect(send([["QUERY|gmp|"]], { hostname: "127.0.0.1", port: fake.port })),
    new Error(
      `Cannot use the reply from 127.0.0.1:${fake.port}: expected OK, FAIL or ERROR, ` +
        "got a line over 64 bytes",
    ),
  );
  await fake.done;
});

Deno.test("send reports a server that closes before answering every request", async () => {
  const fake = fakeServer("QUERY|gmp|\nQUERY|isl|\n".length, "OK\n");
  await rejects(
    collect(send([["QUERY|gmp|", "QUERY|isl|"]], { hostname: "127.0.0.1", port: fake.port })),
    new Error(
      `Cannot read every reply: 127.0.0.1:${fake.port} closed the connection after 1 of 2`,
    ),
  );
  await fake.done;
});

Deno.test("send reports more replies than requests", async () => {
  const fake = fakeServer("QUERY|gmp|\n".length, "OK\nOK\n");
  await rejects(
    collect(send([["QUERY|gmp|"]], { hostname: "127.0.0.1", port: fake.port })),
    new Error(
      `Cannot use the replies from 127.0.0.1:${fake.port}: more replies than requests sent`,
    ),
  );
  await fake.done;
});
