import assert from "node:assert/strict";
import { ServeLifecycle } from "../../lib/cli/serve_lifecycle.ts";
import { serve } from "../../lib/server/server.ts";
import { DurableIndex } from "../../lib/storage/durable_index.ts";
import { SqliteStore } from "../../lib/storage/sqlite_store.ts";
import { parseExposition } from "../support/exposition.ts";
import {
  durableServerCommand,
  exchange,
  recordingLogger,
  type ServerProcess,
  startServerProcess,
  TestClient,
} from "../support/test_server.ts";
import { untilReadingStops } from "../support/async_helpers.ts";
import { withTempDir, writeDataFile } from "../support/data_files.ts";

/**
 * Runs `command` with every file it writes limited to 64 KiB (`ulimit -f 128` counts blocks of 512
 * bytes in sh; bash's 1 KiB blocks make it 128 KiB): a write past the limit fails as on a full
 * disk, instead of raising SIGXFSZ, which is ignored.
 */
function onFullDisk(command: string[]): string[] {
  return ["sh", "-c", `trap '' XFSZ; ulimit -f 128; exec "$0" "$@"`, ...command];
}

Deno.test("serve on a full disk logs commit failures once, stops on SIGTERM with one line about the checkpoint, and loses nothing acknowledged", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/index.db`;
    // Larger than the file size limit: the checkpoint at shutdown writes past it and fails.
    writeDataFile(path, Array.from({ length: 10_000 }, (_, i) => `p${i}`));
    const server = await startServerProcess(onFullDisk(durableServerCommand(path)));
    const client = await TestClient.connect(server.port);
    const replies = new Map<string, string>();
    try {
      // One commit each; the write-ahead log grows until it reaches the limit.
      for (let i = 0; i < 60; i++) replies.set(`new${i}`, await client.request(`INDEX|new${i}|`));
    } finally {
      client.close();
    }
    const answered = [...replies.values()];
    assert.ok(answered.includes("OK\n") && answered.includes("ERROR\n"), answered.join(""));
    const failures = answered.filter((reply) => reply === "ERROR\n").length;

    const { code, signal, log } = await server.stop();
    assert.deepEqual({ code, signal }, { code: 1, signal: null }, log);
    assert.doesNotMatch(log, /Uncaught|\n\s+at /, "no stack trace");
    const errors = log.split("\n").filter((line) => / ERROR /.test(line));
    assert.equal(errors.length, 2, log);
    assert.match(
      errors[0]!,
      / ERROR Commit of 1 change failed; undone in memory and answered ERROR: /,
    );
    assert.match(
      errors[1]!,
      new RegExp(
        ` ERROR Closed data file '${path}' without folding its write-ahead log back in: .+; ` +
          `every committed change stays in '${path}-wal' for the next start$`,
      ),
    );
    assert.match(log, new RegExp(` INFO Stopped\\. .* commit-failures=${failures}\\n$`));

    const restarted = await startServerProcess(durableServerCommand(path));
    try {
      for (const [name, reply] of replies) {
        const expected = reply === "OK\n" ? "OK\n" : "FAIL\n";
        assert.equal(await exchange(restarted.port, `QUERY|${name}|\n`), expected, name);
      }
      assert.equal(await exchange(restarted.port, "QUERY|p9999|\n"), "OK\n");
    } finally {
      assert.equal((await restarted.stop()).code, 0);
    }
  });
});

/** The counts of bytes `server` has received and sent, from its metrics. */
async function byteCounts(server: ServerProcess): Promise<{ received: number; sent: number }> {
  const response = await fetch(`http://127.0.0.1:${server.httpPort}/metrics`);
  const metrics = parseExposition(await response.text());
  return {
    received: metrics.get("pkgindex_received_bytes_total")!,
    sent: metrics.get("pkgindex_sent_bytes_total")!,
  };
}

Deno.test("serve says what the drain waits for, and a second SIGTERM cuts it short but closes the data file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/index.db`;
    const server = await startServerProcess([...durableServerCommand(path), "--http-port", "0"]);
    assert.equal(await exchange(server.port, "INDEX|gmp|\n"), "OK\n");
    // A client that sends empty lines (each answered ERROR) and never reads its replies: once
    // the socket buffers are full, the server waits on writing to it.
    const greedy = await TestClient.connect(server.port);
    const flooding = greedy.send(new Uint8Array(16 << 20).fill(10)).catch(() => {});
    try {
      // Reading has stopped, and because replies are owed the server is waiting on a write, not
      // merely descheduled between reads on a loaded machine: after "INDEX|gmp|\n" (11 bytes in,
      // "OK\n" out) every byte received is an empty line owed "ERROR\n".
      let owed = 0;
      while (owed <= 0) {
        await untilReadingStops(async () => (await byteCounts(server)).received);
        const { received, sent } = await byteCounts(server);
        owed = 6 * (received - 11) - (sent - 3);
      }
      server.child.kill("SIGTERM");
      await server.waitForLog(
        / INFO Waiting for 1 connection to take the replies to requests already read \(a client that does not read gets 5 s\); a second SIGINT or SIGTERM stops without waiting\n/,
      );
      server.child.kill("SIGTERM");
      const { code, signal, log } = await server.finish();
      assert.deepEqual({ code, signal }, { code: 143, signal: null }, log);
      assert.match(
        log,
        / WARN Received SIGTERM during shutdown; closing 1 connection without waiting for their replies\n.* INFO Closed data file .*\n.* INFO Stopped\. /,
      );
    } finally {
      greedy.close();
      await flooding;
    }
    const restarted = await startServerProcess(durableServerCommand(path));
    assert.equal(await exchange(restarted.port, "QUERY|gmp|\n"), "OK\n");
    assert.equal((await restarted.stop()).code, 0);
  });
});

Deno.test("a failed undo stops the server: waiting replies are ERROR, one line is logged, the exit code is 1", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/index.db`;
    const store = SqliteStore.open(path);
    const index = store.load();
    store.prepareForWrites("normal");
    const logger = recordingLogger();
    const lifecycle = new ServeLifecycle(logger);
    let breakNextCommit = false;
    const durable = new DurableIndex({
      index,
      logger,
      // The injected failure: the commit fails after 'b' came to depend on the new 'a' behind the
      // wrapper's back, so undoing 'a' is impossible.
      store: {
        commit: (mutations) => {
          if (!breakNextCommit) return store.commit(mutations);
          index.index("b", ["a"]);
          throw new Error("disk I/O error");
        },
      },
      onDiverged: (error) => lifecycle.fail(error.message), // as pkgindex serve does
    });
    const server = serve({ hostname: "127.0.0.1", port: 0, logger, index: durable });
    const stopped = lifecycle.serveUntilStopped({ server, dataFile: { durable, index, store } });
    assert.equal(await exchange(server.addr.port, "INDEX|gmp|\n"), "OK\n");
    breakNextCommit = true;
    assert.equal(await exchange(server.addr.port, "INDEX|a|\nQUERY|gmp|\n"), "ERROR\nERROR\n");
    assert.equal(await stopped, 1);
    assert.deepEqual(logger.lines.filter((line) => / (ERROR|WARN) /.test(line)), [
      logger.lines.find((line) => line.includes(" ERROR "))!,
    ]);
    assert.match(
      logger.lines.find((line) => line.includes(" ERROR "))!,
      / ERROR Cannot undo the change to 'a' after a commit failed \(disk I\/O error\): memory and the data file disagree, so every reply is ERROR until a restart reloads the file; stopping$/,
    );
    assert.match(logger.lines.at(-1)!, / INFO Stopped\. .* commits=1 commit-failures=1$/);
    const reopened = SqliteStore.open(path);
    assert.deepEqual(
      [...reopened.entries()],
      [["gmp", []]],
      "the file holds what was acknowledged",
    );
    reopened.close();
  });
});
