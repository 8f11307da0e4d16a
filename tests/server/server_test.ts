import assert from "node:assert/strict";
import {
  chainRequests,
  exchange,
  recordingLogger,
  TestClient,
  withServer,
} from "../support/test_server.ts";
import { untilReadingStops } from "../support/async_helpers.ts";
import { serve, SERVE_DEFAULTS } from "../../lib/server/server.ts";

const encoder = new TextEncoder();

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 10 ms until it holds, failing after `timeoutMs`. */
async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await delay(10);
  }
}

Deno.test("server answers the sample session exactly", async () => {
  await withServer({}, async (server) => {
    const input = [
      "INDEX|cloog|gmp,isl,pkg-config",
      "INDEX|gmp|",
      "INDEX|isl|gmp",
      "INDEX|pkg-config|",
      "INDEX|cloog|gmp,isl,pkg-config",
      "QUERY|cloog|",
      "REMOVE|gmp|",
      "REMOVE|cloog|",
      "REMOVE|cloog|",
      "QUERY|cloog|",
      "REMOVE|isl|",
      "REMOVE|gmp|",
      "",
    ].join("\n");
    assert.equal(
      await exchange(server.addr.port, input),
      "FAIL\nOK\nOK\nOK\nOK\nOK\nFAIL\nOK\nOK\nFAIL\nOK\nOK\n",
    );
    assert.equal(server.stats.requests.INDEX.OK, 4);
    assert.equal(server.stats.requests.INDEX.FAIL, 1);
    assert.equal(server.stats.requests.REMOVE.FAIL, 1);
  });
});

Deno.test("each @default of ServeOptions is the value SERVE_DEFAULTS holds", async () => {
  const source = await Deno.readTextFile(new URL("../../lib/server/server.ts", import.meta.url));
  const options = source.slice(
    source.indexOf("export interface ServeOptions {"),
    source.indexOf("export const SERVE_DEFAULTS"),
  );
  const tagged = new Map(
    [...options.matchAll(/@default \{(.*)\}\n\s*\*\/\n\s*(\w+)\?:/g)].map((m) => [m[2]!, m[1]!]),
  );
  assert.ok(tagged.has("logger"), "the tags were read");
  for (const [option, value] of Object.entries(SERVE_DEFAULTS)) {
    assert.equal(tagged.get(option), JSON.stringify(value), `the @default of ${option}`);
  }
});

Deno.test("server shares one index between connections", async () => {
  await withServer({}, async (server) => {
    const port = server.addr.port;
    assert.equal(await exchange(port, "INDEX|gmp|\n"), "OK\n");
    assert.equal(await exchange(port, "QUERY|gmp|\nINDEX|isl|gmp\n"), "OK\nOK\n");
    assert.equal(await exchange(port, "REMOVE|gmp|\n"), "FAIL\n");
  });
});

Deno.test("server refuses dependency cycles and self-dependencies", async () => {
  await withServer({}, async (server) => {
    const input = "INDEX|a|\nINDEX|b|a\nINDEX|a|b\nINDEX|a|a\nINDEX|a|\nREMOVE|a|\n";
    assert.equal(await exchange(server.addr.port, input), "OK\nOK\nFAIL\nFAIL\nOK\nFAIL\n");
  });
});

Deno.test("server answers ERROR to malformed lines and keeps the connection usable", async () => {
  await withServer({}, async (server) => {
    const lines = [
      "",
      "BLINDEX|a|",
      "index|a|",
      "QUERY|a",
      "QUERY|a||",
      "INDEX|a b|",
      "INDEX|a=b|",
      "INDEX|☃|",
      "INDEX|a|b,,c",
      "INDEX|a|b,",
      "REMOVE|a|b",
      "QUERY|a|b",
      "QUERY||",
      "\uFEFFQUERY|a|",
    ];
    const input = lines.map((line) => line + "\n").join("") + "INDEX|a|\nQUERY|a|\n";
    assert.equal(
      await exchange(server.addr.port, input),
      "ERROR\n".repeat(lines.length) + "OK\nOK\n",
    );
    assert.equal(server.stats.malformedRequests, lines.length);
  });
});

Deno.test("server answers ERROR to control bytes, NUL and invalid UTF-8", async () => {
  await withServer({}, async (server) => {
    const input = new Uint8Array([
      ...encoder.encode("QUERY|a\x00|\n"),
      ...encoder.encode("QUERY|a\x01b|\n"),
      ...encoder.encode("QUERY|"),
      0xff,
      0xfe,
      ...encoder.encode("|\n"),
      ...encoder.encode("QUERY|"),
      0xc3, // a truncated two-byte sequence
      ...encoder.encode("|\n"),
      0xef,
      0xbb,
      0xbf, // a byte order mark must not be silently dropped
      ...encoder.encode("INDEX|a|\n"),
      ...encoder.encode("INDEX|a|\n"),
    ]);
    assert.equal(await exchange(server.addr.port, input), "ERROR\n".repeat(5) + "OK\n");
  });
});

Deno.test("server tolerates CRLF line endings", async () => {
  await withServer({}, async (server) => {
    assert.equal(
      await exchange(server.addr.port, "INDEX|a|\r\nQUERY|a|\r\nQUERY|a|\r\r\n"),
      "OK\nOK\nERROR\n",
    );
  });
});

Deno.test("server gives no reply to a final fragment without a newline", async () => {
  await withServer({}, async (server) => {
    assert.equal(await exchange(server.addr.port, "INDEX|a|\nQUERY|a|"), "OK\n");
    assert.equal(await exchange(server.addr.port, "QUERY|a|"), "");
  });
});

Deno.test("server answers a request split over many packets", async () => {
  await withServer({}, async (server) => {
    const client = await TestClient.connect(server.addr.port);
    try {
      for (const byte of "INDEX|gtk+3|\nQUERY|gtk+3|\n") {
        await client.send(byte);
        await delay(1);
      }
      assert.equal(await client.readLines(2), "OK\nOK\n");
    } finally {
      client.close();
    }
  });
});

Deno.test("server sends the replies to requests that arrive together in one write", async () => {
  await withServer({}, async (server) => {
    const client = await TestClient.connect(server.addr.port);
    try {
      await client.send("QUERY|a|\n".repeat(50));
      const buffer = new Uint8Array(4096);
      const n = await client.conn.read(buffer);
      assert.equal(new TextDecoder().decode(buffer.subarray(0, n ?? 0)), "FAIL\n".repeat(50));
    } finally {
      client.close();
    }
  });
});

Deno.test("server answers pipelined requests in order", async () => {
  await withServer({}, async (server) => {
    let input = "";
    let expected = "";
    for (let i = 0; i < 5000; i++) {
      input += `INDEX|p${i}|${i > 0 ? `p${i - 1}` : ""}\nQUERY|p${i}|\nREMOVE|p${i - 1}|\n`;
      expected += i > 0 ? "OK\nOK\nFAIL\n" : "OK\nOK\nOK\n";
    }
    assert.equal(await exchange(server.addr.port, input), expected);
  });
});

Deno.test("server accepts a line of exactly --max-line-bytes and refuses a longer one", async () => {
  await withServer({ maxLineBytes: 16 }, async (server) => {
    const exact = "INDEX|abcdefghi|"; // 16 bytes
    const longer = "INDEX|abcdefghij|"; // 17 bytes
    assert.equal(
      await exchange(server.addr.port, `${exact}\n${longer}\nQUERY|abcdefghi|\n`),
      "OK\nERROR\nOK\n",
    );
    assert.equal(server.stats.overlongLines, 1);
  });
});

Deno.test("server discards an endless line as it streams and answers ERROR once", async () => {
  await withServer({ maxLineBytes: 1024 }, async (server) => {
    const client = await TestClient.connect(server.addr.port);
    try {
      await client.send("INDEX|a|\n");
      assert.equal(await client.readLines(1), "OK\n");
      const chunk = "x".repeat(64 * 1024);
      for (let i = 0; i < 160; i++) await client.send(chunk); // 10 MiB without a newline
      await client.send("\nQUERY|a|\n");
      assert.equal(await client.readLines(2), "ERROR\nOK\n");
      assert.equal(server.stats.overlongLines, 1);
    } finally {
      client.close();
    }
  });
});

Deno.test("server survives a client that resets with replies unread", async () => {
  const logger = recordingLogger();
  await withServer({ logger }, async (server) => {
    for (let i = 0; i < 5; i++) {
      const client = await TestClient.connect(server.addr.port);
      const sending = client.send("QUERY|a|\n".repeat(200_000)).catch(() => {});
      assert.equal(await client.readLines(1), "FAIL\n");
      client.close(); // unread replies in the socket make the kernel send a reset
      await sending;
    }
    await waitFor(() => server.stats.connectionsOpen === 0, "the reset connections to close");
    assert.equal(await exchange(server.addr.port, "INDEX|a|\nQUERY|a|\n"), "OK\nOK\n");
  });
  assert.ok(logger.lines.some((line) => / failed: /.test(line)), "a write met the reset");
});

Deno.test("server keeps serving others while a client never reads, and stops reading from it", async () => {
  await withServer({}, async (server) => {
    const greedy = await TestClient.connect(server.addr.port);
    const flood = encoder.encode("QUERY|a|\n".repeat(1024 * 1024)); // 9 MiB → 5 MiB of replies
    const sending = greedy.send(flood).catch(() => {});
    await untilReadingStops(() => server.stats.bytesReceived);
    const readFromGreedy = server.stats.bytesReceived;
    assert.ok(readFromGreedy < flood.length, "the server must not read everything");
    assert.equal(await exchange(server.addr.port, "INDEX|b|\n"), "OK\n");
    assert.equal(
      server.stats.bytesReceived,
      readFromGreedy + "INDEX|b|\n".length,
      "another client was answered while the server still read nothing from the greedy one",
    );
    greedy.close();
    await sending;
  });
});

Deno.test("server closes connections beyond --max-connections at once and counts them", async () => {
  await withServer({ maxConnections: 2 }, async (server) => {
    const first = await TestClient.connect(server.addr.port);
    const second = await TestClient.connect(server.addr.port);
    try {
      assert.equal(await first.request("INDEX|a|"), "OK\n");
      assert.equal(await second.request("QUERY|a|"), "OK\n");
      const third = await TestClient.connect(server.addr.port);
      assert.equal(await third.readToEnd().catch(() => ""), "", "closed without a reply");
      third.close();
      assert.equal(server.stats.connectionsRejected, 1);
      first.close();
      await waitFor(() => server.stats.connectionsOpen === 1, "the first connection to end");
      assert.equal(await exchange(server.addr.port, "QUERY|a|\n"), "OK\n");
    } finally {
      first.close();
      second.close();
    }
  });
});

Deno.test("server closes a connection idle longer than --idle-timeout", async () => {
  await withServer({ idleTimeout: 0.2 }, async (server) => {
    const idle = await TestClient.connect(server.addr.port);
    const busy = await TestClient.connect(server.addr.port);
    try {
      // The busy client keeps asking until the idle connection has been closed.
      let idleClosed = false;
      const closing = idle.readToEnd().finally(() => idleClosed = true);
      while (!idleClosed) {
        assert.equal(await busy.request("QUERY|a|"), "FAIL\n");
        await delay(20);
      }
      assert.equal(await closing, "", "the idle connection was closed");
      assert.equal(server.stats.idleTimeouts, 1);
      assert.equal(await busy.request("INDEX|a|"), "OK\n", "the busy one was not");
    } finally {
      idle.close();
      busy.close();
    }
  });
});

Deno.test("server shutdown answers what it read, then closes every connection", async () => {
  const server = serve({ hostname: "127.0.0.1", port: 0, logger: recordingLogger() });
  const idle = await TestClient.connect(server.addr.port);
  const active = await TestClient.connect(server.addr.port);
  try {
    assert.equal(await active.request("INDEX|a|"), "OK\n");
    await active.send("QUERY|a|\n");
    await waitFor(() => server.stats.requests.QUERY.OK === 1, "the query to be read");
    await server.shutdown();
    assert.equal(await active.readToEnd(), "OK\n");
    assert.equal(await idle.readToEnd(), "");
    await assert.rejects(() => Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }));
  } finally {
    idle.close();
    active.close();
  }
});

Deno.test("server shutdown gives up on a client that never reads after the grace period", async () => {
  const server = serve({
    hostname: "127.0.0.1",
    port: 0,
    shutdownGrace: 0.2,
    logger: recordingLogger(),
  });
  const greedy = await TestClient.connect(server.addr.port);
  const sending = greedy.send("QUERY|a|\n".repeat(1024 * 1024)).catch(() => {});
  try {
    await untilReadingStops(() => server.stats.bytesReceived);
    const shutdownStarted = Date.now();
    await server.shutdown();
    // The stuck connection was closed once its write had waited for the grace period.
    assert.ok(Date.now() - shutdownStarted >= 150, "shutdown waited for the grace period");
    assert.equal(server.connections(1).total, 0, "shutdown closed the stuck connection");
  } finally {
    greedy.close();
    await sending;
  }
});

Deno.test("serve names the address when it cannot listen", async () => {
  await withServer({}, (server) => {
    assert.throws(
      () => serve({ hostname: "127.0.0.1", port: server.addr.port }),
      new RegExp(`^Error: Cannot listen on 127\\.0\\.0\\.1:${server.addr.port}: `),
    );
    return Promise.resolve();
  });
});

Deno.test("server answers other clients while one client's long batch is being worked through", async () => {
  await withServer({}, async (server) => {
    const port = server.addr.port;
    const length = 20_000;
    const chain = chainRequests(length);
    assert.equal(await exchange(port, chain), "OK\n".repeat(length));
    // Each of these walks the whole chain to find the cycle it would close.
    const flooder = await TestClient.connect(port);
    const observer = await TestClient.connect(port);
    try {
      const floodCount = 3000;
      await flooder.send(`INDEX|w0|w${length - 1}\n`.repeat(floodCount));
      await waitFor(() => server.stats.requests.INDEX.FAIL > 0, "the flood to start");
      assert.equal(await observer.request("QUERY|w0|"), "OK\n");
      assert.ok(
        server.stats.requests.INDEX.FAIL < floodCount,
        `the query was answered before the flood was done (${server.stats.requests.INDEX.FAIL} of ${floodCount})`,
      );
      assert.equal(await flooder.readLines(floodCount), "FAIL\n".repeat(floodCount));
    } finally {
      flooder.close();
      observer.close();
    }
  });
});

Deno.test("server shutdown answers a long batch it has read, however long computing it takes", async () => {
  const server = serve({
    hostname: "127.0.0.1",
    port: 0,
    shutdownGrace: 0.05,
    logger: recordingLogger(),
  });
  const client = await TestClient.connect(server.addr.port);
  try {
    const length = 20_000;
    const chain = chainRequests(length);
    await client.send(chain);
    assert.equal(await client.readLines(length), "OK\n".repeat(length));
    const floodCount = 2000; // each walks the chain: far longer than the grace period in all
    await client.send(`INDEX|w0|w${length - 1}\n`.repeat(floodCount));
    await waitFor(() => server.stats.requests.INDEX.FAIL > 0, "the batch to start");
    const stopping = server.shutdown();
    assert.equal(await client.readLines(floodCount), "FAIL\n".repeat(floodCount));
    await stopping;
  } finally {
    client.close();
  }
});

Deno.test("server counts each open connection's requests and bytes, oldest first", async () => {
  await withServer({}, async (server) => {
    const first = await TestClient.connect(server.addr.port);
    const second = await TestClient.connect(server.addr.port);
    try {
      const before = Date.now();
      assert.equal(await first.request("INDEX|gmp|"), "OK\n");
      await first.send("QUERY|gmp|\nBOGUS\n");
      assert.equal(await first.readLines(2), "OK\nERROR\n");
      assert.equal(await second.request("QUERY|isl|"), "FAIL\n");
      // Bytes out are counted once the write has completed, which may be after the reply arrived.
      const sent = () =>
        server.connections(10).connections.reduce((sum, c) => sum + c.bytesSent, 0);
      await waitFor(() => sent() === 17, "every reply to be counted");
      const { connections, total } = server.connections(10);
      assert.equal(total, 2);
      const peers = [first, second].map(({ conn }) =>
        `${conn.localAddr.hostname}:${conn.localAddr.port}`
      );
      assert.deepEqual(
        connections.map(({ peer, requests, bytesReceived, bytesSent }) => ({
          peer,
          requests,
          bytesReceived,
          bytesSent,
        })),
        [
          { peer: peers[0], requests: 3, bytesReceived: 11 + 17, bytesSent: 3 + 9 },
          { peer: peers[1], requests: 1, bytesReceived: 11, bytesSent: 5 },
        ],
      );
      for (const { openedAt, lastActive } of connections) {
        assert.ok(openedAt <= before && lastActive >= before && lastActive <= Date.now());
      }
      assert.deepEqual(server.connections(1).connections.map(({ peer }) => peer), [peers[0]]);
      assert.equal(server.connections(1).total, 2);
    } finally {
      first.close();
      second.close();
    }
  });
});

Deno.test("server records INDEX requests at or over the slow log threshold, never QUERY or REMOVE", async () => {
  await withServer({ slowlogThreshold: 0 }, async (server) => {
    const client = await TestClient.connect(server.addr.port);
    try {
      await client.send("INDEX|gmp|\nINDEX|isl|gmp,gmp\nQUERY|isl|\nREMOVE|isl|\nINDEX|x|nope\n");
      assert.equal(await client.readLines(5), "OK\nOK\nOK\nOK\nFAIL\n");
      const peer = `${client.conn.localAddr.hostname}:${client.conn.localAddr.port}`;
      const entries = server.slowlog.newest(10);
      assert.deepEqual(
        entries.map(({ time: _, durationMs: __, ...entry }) => entry),
        [
          { id: 3, command: "INDEX", package: "x", dependencies: 1, peer },
          { id: 2, command: "INDEX", package: "isl", dependencies: 2, peer },
          { id: 1, command: "INDEX", package: "gmp", dependencies: 0, peer },
        ],
      );
      for (const { durationMs } of entries) assert.ok(durationMs >= 0 && durationMs < 1000);
    } finally {
      client.close();
    }
  });
  await withServer({ slowlogThreshold: 1000 }, async (server) => {
    assert.equal(await exchange(server.addr.port, "INDEX|gmp|\n"), "OK\n");
    assert.equal(server.slowlog.recorded, 0, "a fast INDEX is not recorded");
  });
});
