import assert from "node:assert/strict";
import { PackageIndex } from "../../lib/index/package_index.ts";
import { WalkRunner } from "../../lib/index/walk_runner.ts";
import { VERSION } from "../../lib/util/version.ts";
import { chainRequests, TestClient } from "../support/test_server.ts";
import {
  type Service,
  type ServiceOptions,
  startService,
  withService,
} from "../support/http_service.ts";

/** The Homebrew-like graph most tests use, fed over TCP. */
const GRAPH = [
  "INDEX|gmp|",
  "INDEX|isl|gmp",
  "INDEX|cloog|gmp,isl",
  "INDEX|gtk+3|",
  "INDEX|@scope/pkg|gtk+3",
  "INDEX|python@3.12|gmp",
  "INDEX|org.example:artifact~1|",
  "",
].join("\n");

/** Runs `body` with a service (started with `options`) that has indexed {@linkcode GRAPH}. */
function withGraph(
  body: (service: Service) => Promise<void>,
  options: ServiceOptions = {},
): Promise<void> {
  return withService(async (service) => {
    assert.equal(await service.feed(GRAPH), "OK\n".repeat(7));
    await body(service);
  }, options);
}

/** `POST /v1/explain` with `line` as the body: the status and the parsed answer. */
async function explain(service: Service, line: BodyInit, query = "") {
  return await service.getJson(`/v1/explain${query}`, { method: "POST", body: line });
}

Deno.test("GET /v1/packages/{name} answers the package with its direct dependencies and dependents", async () => {
  await withGraph(async (service) => {
    assert.deepEqual(await service.getJson("/v1/packages/gmp"), {
      status: 200,
      json: {
        name: "gmp",
        dependencies: [],
        dependents: ["cloog", "isl", "python@3.12"],
        dependencyCount: 0,
        dependentCount: 3,
        truncated: false,
      },
    });
    assert.deepEqual(await service.getJson("/v1/packages/cloog?limit=1"), {
      status: 200,
      json: {
        name: "cloog",
        dependencies: ["gmp"],
        dependents: [],
        dependencyCount: 2,
        dependentCount: 0,
        truncated: true,
      },
    });
  });
});

Deno.test("GET /v1/packages/{name} answers 404 for a package that is not indexed, 400 for a bad name", async () => {
  await withGraph(async (service) => {
    assert.deepEqual(await service.getJson("/v1/packages/ppl"), {
      status: 404,
      json: { error: "The package 'ppl' is not indexed." },
    });
    const alphabet = "expected 1 to 255 characters of A-Z a-z 0-9 . _ + @ / : ~ -.";
    assert.deepEqual(await service.getJson("/v1/packages/a%20b"), {
      status: 400,
      json: { error: `Cannot use 'a b' as a package name: ${alphabet}` },
    });
    assert.deepEqual(await service.getJson("/v1/packages/"), {
      status: 400,
      json: { error: `Cannot use '' as a package name: ${alphabet}` },
    });
    assert.deepEqual(await service.getJson("/v1/packages/%E2%98%83"), {
      status: 400,
      json: { error: `Cannot use '\u2603' as a package name: ${alphabet}` },
    });
    assert.deepEqual(await service.getJson("/v1/packages/%zz"), {
      status: 400,
      json: { error: "Cannot decode the package name '%zz': it is not valid percent-encoding." },
    });
  });
});

Deno.test("package names round-trip through URLs, encoded or not: + @ / : ~", async () => {
  await withGraph(async (service) => {
    const paths: [string, string][] = [
      ["gtk+3", "/v1/packages/gtk+3"],
      ["gtk+3", "/v1/packages/gtk%2B3"],
      ["@scope/pkg", "/v1/packages/@scope/pkg"],
      ["@scope/pkg", "/v1/packages/%40scope%2Fpkg"],
      ["python@3.12", "/v1/packages/python@3.12"],
      ["org.example:artifact~1", "/v1/packages/org.example:artifact~1"],
      ["org.example:artifact~1", `/v1/packages/${encodeURIComponent("org.example:artifact~1")}`],
    ];
    for (const [name, path] of paths) {
      const { status, json } = await service.getJson(path);
      assert.equal(status, 200, path);
      assert.equal((json as { name: string }).name, name, path);
    }
    const blockers = await service.getJson("/v1/packages/@scope/pkg/blockers");
    assert.deepEqual(blockers.json, {
      name: "@scope/pkg",
      blockers: [],
      total: 0,
      truncated: false,
    });
    // A package whose name ends in /blockers is asked for with its last / encoded.
    assert.equal(await service.feed("INDEX|x/blockers|\n"), "OK\n");
    const named = await service.getJson("/v1/packages/x%2Fblockers");
    assert.equal((named.json as { name: string }).name, "x/blockers");
  });
});

Deno.test("GET /v1/packages/{name}/blockers answers what depends on it, in an order REMOVE accepts", async () => {
  await withGraph(async (service) => {
    assert.equal(await service.feed("INDEX|ppl|cloog\n"), "OK\n");
    const answer = await service.getJson("/v1/packages/isl/blockers");
    assert.deepEqual(answer, {
      status: 200,
      json: { name: "isl", blockers: ["ppl", "cloog"], total: 2, truncated: false },
    });
    const gmp = (await service.getJson("/v1/packages/gmp/blockers")).json as {
      blockers: string[];
      total: number;
    };
    assert.deepEqual(new Set(gmp.blockers), new Set(["ppl", "cloog", "isl", "python@3.12"]));
    // The answer to "why does REMOVE fail": removing them in this order, then gmp, succeeds.
    const removals = [...gmp.blockers, "gmp"].map((name) => `REMOVE|${name}|\n`).join("");
    assert.equal(await service.feed(removals), "OK\n".repeat(5));
    assert.deepEqual(await service.getJson("/v1/packages/gmp/blockers"), {
      status: 404,
      json: { error: "The package 'gmp' is not indexed." },
    });
  });
});

Deno.test("GET /v1/packages/{name}/install-order answers its dependencies in an order INDEX accepts, it last", async () => {
  await withGraph(async (service) => {
    assert.deepEqual(await service.getJson("/v1/packages/cloog/install-order"), {
      status: 200,
      json: { name: "cloog", order: ["gmp", "isl", "cloog"], total: 3, truncated: false },
    });
    assert.deepEqual(await service.getJson("/v1/packages/cloog/install-order?limit=2"), {
      status: 200,
      json: { name: "cloog", order: ["gmp", "isl"], total: 3, truncated: true },
    });
  });
});

Deno.test("GET /v1/packages pages through every name exactly once, in byte order", async () => {
  await withGraph(async (service) => {
    const names: string[] = [];
    const pages: unknown[] = [];
    let after: string | null = "";
    while (after !== null) {
      const { status, json } = await service.getJson(
        `/v1/packages?limit=3&after=${encodeURIComponent(after)}`,
      );
      assert.equal(status, 200);
      const page = json as { names: string[]; next: string | null };
      pages.push(page);
      names.push(...page.names);
      after = page.next;
    }
    assert.deepEqual(pages, [
      { names: ["@scope/pkg", "cloog", "gmp"], total: 7, next: "gmp", truncated: true },
      {
        names: ["gtk+3", "isl", "org.example:artifact~1"],
        total: 7,
        next: "org.example:artifact~1",
        truncated: true,
      },
      { names: ["python@3.12"], total: 7, next: null, truncated: false },
    ]);
    assert.deepEqual(names, [...new Set(names)].sort());
    // A + in the query is a plus sign, not a space.
    assert.deepEqual((await service.getJson("/v1/packages?prefix=gtk+")).json, {
      names: ["gtk+3"],
      total: 1,
      next: null,
      truncated: false,
    });
    assert.deepEqual((await service.getJson("/v1/packages?prefix=g&after=gmp")).json, {
      names: ["gtk+3"],
      total: 2,
      next: null,
      truncated: false,
    });
  });
});

Deno.test("every list endpoint refuses a bad limit or an unknown or repeated parameter with 400", async () => {
  await withGraph(async (service) => {
    const cases: [string, string][] = [
      ["/v1/packages?limit=0", "Cannot use limit '0': expected an integer from 1 to 100000."],
      [
        "/v1/packages?limit=100001",
        "Cannot use limit '100001': expected an integer from 1 to 100000.",
      ],
      [
        "/v1/packages/gmp/blockers?limit=1.5",
        "Cannot use limit '1.5': expected an integer from 1 to 100000.",
      ],
      [
        "/v1/connections?limit=ten",
        "Cannot use limit 'ten': expected an integer from 1 to 100000.",
      ],
      ["/v1/packages?prefx=g", "Unknown parameter 'prefx': expected prefix, after, limit."],
      ["/v1/info?limit=3", "Unknown parameter 'limit': this endpoint takes none."],
      ["/v1/slowlog?limit=1&limit=2", "The parameter 'limit' is given twice."],
      [
        "/v1/packages?after=a%20b",
        "Cannot use 'a b' as the cursor after: expected 1 to 255 characters of A-Z a-z 0-9 . _ + @ / : ~ -.",
      ],
    ];
    for (const [path, error] of cases) {
      assert.deepEqual(await service.getJson(path), { status: 400, json: { error } }, path);
    }
    assert.equal((await service.getJson("/v1/packages?limit=100000")).status, 200);
  });
});

Deno.test("/v1/ answers 404 for an unknown path and 405 with Allow for a wrong method", async () => {
  await withGraph(async (service) => {
    assert.deepEqual(await service.getJson("/v1/nothing"), {
      status: 404,
      json: { error: "Nothing is served at /v1/nothing; the endpoints are in docs/inspection.md." },
    });
    const post = await service.request("/v1/info", { method: "POST", body: "x" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
    assert.deepEqual(JSON.parse(post.body), { error: "/v1/info answers GET, HEAD, not POST." });
    const get = await service.request("/v1/explain");
    assert.equal(get.status, 405);
    assert.equal(get.headers.get("allow"), "POST");
    const head = await fetch(service.url("/v1/packages/gmp"), { method: "HEAD" });
    assert.equal(head.status, 200);
    await head.body?.cancel();
  });
});

Deno.test("POST /v1/explain says why an INDEX fails: the missing dependencies, or the cycle it would close", async () => {
  await withGraph(async (service) => {
    assert.deepEqual(await explain(service, "INDEX|ppl|gmp,cloog,ghc,gmp,ghc,zlib"), {
      status: 200,
      json: {
        line: "INDEX|ppl|gmp,cloog,ghc,gmp,ghc,zlib",
        reply: "FAIL",
        reason: '2 of the 4 dependency names are not indexed (in "missing"); index them first.',
        missing: ["ghc", "zlib"],
      },
    });
    assert.equal(await service.feed("INDEX|ppl|cloog\n"), "OK\n");
    const reason = "Indexing 'gmp' with these dependencies would close a dependency cycle of 3 " +
      'steps (in "cycle"); a package on a cycle could never be removed.';
    assert.deepEqual(await explain(service, "INDEX|gmp|ppl\n"), {
      status: 200,
      json: {
        line: "INDEX|gmp|ppl",
        reply: "FAIL",
        reason, // the shortest cycle: ppl → cloog → isl → gmp is longer
        cycle: ["gmp", "ppl", "cloog", "gmp"],
        truncated: false,
      },
    });
    assert.deepEqual((await explain(service, "INDEX|gmp|ppl", "?limit=2")).json, {
      line: "INDEX|gmp|ppl",
      reply: "FAIL",
      reason,
      cycle: ["gmp", "ppl"],
      truncated: true,
    });
    assert.deepEqual((await explain(service, "INDEX|isl|isl")).json, {
      line: "INDEX|isl|isl",
      reply: "FAIL",
      reason: "'isl' cannot depend on itself: a package on a cycle could never be removed.",
      cycle: ["isl", "isl"],
      truncated: false,
    });
  });
});

Deno.test("POST /v1/explain says why an INDEX, a QUERY or a REMOVE succeeds", async () => {
  await withGraph(async (service) => {
    const verdicts: [string, string, string][] = [
      [
        "INDEX|ppl|gmp,isl",
        "OK",
        "'ppl' is not indexed and every dependency named is: INDEX would add it.",
      ],
      ["INDEX|ppl|", "OK", "'ppl' is not indexed and names no dependencies: INDEX would add it."],
      [
        "INDEX|cloog|isl",
        "OK",
        "'cloog' is indexed, and every dependency named is indexed and closes no cycle: INDEX " +
        "would replace its dependency list.",
      ],
      ["QUERY|gtk+3|", "OK", "'gtk+3' is indexed."],
      ["QUERY|ppl|", "FAIL", "'ppl' is not indexed."],
      ["REMOVE|cloog|", "OK", "Nothing depends on 'cloog': REMOVE would remove it."],
      ["REMOVE|ppl|", "OK", "'ppl' is not indexed: REMOVE would answer OK and change nothing."],
    ];
    for (const [line, reply, reason] of verdicts) {
      assert.deepEqual((await explain(service, line)).json, { line, reply, reason }, line);
    }
  });
});

Deno.test("POST /v1/explain says what blocks a REMOVE: direct dependents and the removal order", async () => {
  await withGraph(async (service) => {
    assert.deepEqual((await explain(service, "REMOVE|isl|")).json, {
      line: "REMOVE|isl|",
      reply: "FAIL",
      reason: "1 indexed package depends on 'isl' directly (in \"dependents\") and 1 in all; " +
        'REMOVE those first, in the order of "blockers".',
      dependents: ["cloog"],
      blockers: ["cloog"],
      truncated: false,
    });
    const gmp = (await explain(service, "REMOVE|gmp|", "?limit=1")).json;
    assert.deepEqual(gmp, {
      line: "REMOVE|gmp|",
      reply: "FAIL",
      reason: "3 indexed packages depend on 'gmp' directly (in \"dependents\") and 3 in all; " +
        'REMOVE those first, in the order of "blockers".',
      dependents: ["cloog"],
      blockers: (gmp as { blockers: string[] }).blockers,
      truncated: true,
    });
    assert.equal((gmp as { blockers: string[] }).blockers.length, 1);
  });
});

Deno.test("POST /v1/explain says which field and byte make a line malformed", async () => {
  await withGraph(async (service) => {
    const cases: [BodyInit, string, string, number][] = [
      [
        "FETCH|gmp|",
        "The command is not one of INDEX, REMOVE, QUERY followed by |: byte 0 is 0x46.",
        "command",
        0,
      ],
      [
        "INDEX|a b|",
        "The package name holds a byte outside the name alphabet: byte 7 is 0x20.",
        "package",
        7,
      ],
      [
        "QUERY|gmp",
        "The line has fewer than three fields: byte 9 is the end of the line.",
        "dependencies",
        9,
      ],
      ["QUERY|gmp|isl", "This command takes no dependencies: byte 10 is 0x69.", "dependencies", 10],
      [
        "INDEX|x|a,,b",
        "The dependency list has an empty entry: byte 10 is 0x2c.",
        "dependencies",
        10,
      ],
      [
        new Uint8Array([...new TextEncoder().encode("INDEX|caf"), 0xe9, 0x7c, 0x0a]),
        "The package name holds a byte outside the name alphabet: byte 9 is 0xe9.",
        "package",
        9,
      ],
    ];
    for (const [body, reason, field, byte] of cases) {
      const { status, json } = await explain(service, body);
      assert.equal(status, 200);
      const { line: _, ...rest } = json as { line: string };
      assert.deepEqual(rest, { reply: "ERROR", reason, malformed: { field, byte } }, reason);
    }
    assert.deepEqual((await explain(service, "INDEX|café|")).json, {
      line: "INDEX|café|",
      reply: "ERROR",
      reason: "The package name holds a byte outside the name alphabet: byte 9 is 0xc3.",
      malformed: { field: "package", byte: 9 },
    });
    // An empty body is an empty line, which the server answers ERROR too.
    assert.deepEqual(await explain(service, ""), {
      status: 200,
      json: {
        line: "",
        reply: "ERROR",
        reason: "The command is not one of INDEX, REMOVE, QUERY followed by |: " +
          "byte 0 is the end of the line.",
        malformed: { field: "command", byte: 0 },
      },
    });
  });
});

Deno.test("POST /v1/explain refuses a line over the server's --max-line-bytes like the server does", async () => {
  await withGraph(async (service) => {
    const line = `QUERY|${"x".repeat(30)}|`;
    assert.equal(await service.feed(line + "\n"), "ERROR\n");
    assert.deepEqual((await explain(service, line)).json, {
      line,
      reply: "ERROR",
      reason: "The line is 37 bytes long, over the server's limit of 32 (--max-line-bytes).",
      malformed: { field: "line", byte: 32 },
    });
  }, { serve: { maxLineBytes: 32 } });
});

Deno.test("POST /v1/explain never changes the index or the request counters", async () => {
  await withGraph(async (service) => {
    const before = await service.getJson("/v1/info");
    const lines = ["INDEX|ppl|gmp", "INDEX|cloog|", "REMOVE|cloog|", "REMOVE|gtk+3|", "QUERY|gmp|"];
    for (const line of lines) assert.equal((await explain(service, line)).status, 200);
    assert.equal(await service.feed("QUERY|ppl|\nQUERY|cloog|\n"), "FAIL\nOK\n");
    assert.deepEqual((await service.getJson("/v1/packages/cloog")).json, {
      name: "cloog",
      dependencies: ["gmp", "isl"],
      dependents: [],
      dependencyCount: 2,
      dependentCount: 0,
      truncated: false,
    });
    const after = (await service.getJson("/v1/info")).json as Record<string, unknown>;
    const counts = (info: unknown) => {
      const { packages, edges, requests } = info as Record<string, unknown>;
      return { packages, edges, requests };
    };
    const queried = counts(before.json) as { requests: { QUERY: { OK: number; FAIL: number } } };
    queried.requests.QUERY.OK++;
    queried.requests.QUERY.FAIL++;
    assert.deepEqual(counts(after), queried, "only the two QUERYs over TCP were counted");
  });
});

Deno.test("POST /v1/explain refuses a body of more than one line, or too large, or too slow", async () => {
  await withGraph(async (service) => {
    assert.deepEqual(await explain(service, "QUERY|a|\nQUERY|b|\n"), {
      status: 400,
      json: { error: "The body holds more than one line; explain takes one line." },
    });
    assert.deepEqual(await explain(service, "x".repeat(64 * 1024 + 1)), {
      status: 413,
      json: { error: "The body is larger than 65536 bytes; send one protocol line." },
    });
    // Without Content-Length, the body is counted as it arrives.
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 70; i++) controller.enqueue(new Uint8Array(1024).fill(0x78));
        controller.close();
      },
    });
    assert.deepEqual(await explain(service, chunks), {
      status: 413,
      json: { error: "The body is larger than 65536 bytes; send one protocol line." },
    });
    // A client that sends half a body and stalls is cut off.
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: Number(new URL(service.url("/")).port),
    });
    await conn.write(new TextEncoder().encode(
      "POST /v1/explain HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 20\r\n\r\nQUERY|",
    ));
    // The answer comes at once; the connection stays open until the client closes it.
    let reply = "";
    const buffer = new Uint8Array(4096);
    while (!reply.endsWith("}\n")) {
      const count = await conn.read(buffer);
      if (count === null) break;
      reply += new TextDecoder().decode(buffer.subarray(0, count));
    }
    conn.close();
    assert.match(reply, /^HTTP\/1\.1 408 /);
    assert.match(reply, /\r\n\r\n\{"error":"The body did not arrive within 0\.1 seconds\."\}\n$/);
  }, { inspection: { bodyTimeoutMs: 100 } });
});

Deno.test("GET /v1/info answers the counters as JSON", async () => {
  await withGraph(async (service) => {
    const traffic = "QUERY|gmp|\nQUERY|zzz|\nREMOVE|gmp|\nBOGUS\n";
    assert.equal(await service.feed(traffic), "OK\nFAIL\nFAIL\nERROR\n");
    const { status, json } = await service.getJson("/v1/info");
    assert.equal(status, 200);
    const { startedAt, uptimeSeconds, ...rest } = json as Record<string, unknown>;
    assert.equal(new Date(startedAt as string).toISOString(), startedAt);
    assert.ok(Number.isInteger(uptimeSeconds) && (uptimeSeconds as number) >= 0);
    assert.deepEqual(rest, {
      version: VERSION,
      packages: 7,
      edges: 5,
      connections: { open: 0, accepted: 2, rejected: 0, idleTimeouts: 0 },
      requests: {
        INDEX: { OK: 7, FAIL: 0, ERROR: 0 },
        REMOVE: { OK: 0, FAIL: 1, ERROR: 0 },
        QUERY: { OK: 1, FAIL: 1, ERROR: 0 },
      },
      malformed: 1,
      overlong: 0,
      bytes: { received: GRAPH.length + traffic.length, sent: 7 * 3 + 3 + 5 + 5 + 6 },
      slowlog: { thresholdMs: 60_000, recorded: 0 },
      replication: null,
    });
  }, { serve: { slowlogThreshold: 60_000 } }); // a threshold no request reaches, however slow the machine
});

Deno.test("GET /v1/connections lists open connections with their counters, bounded by limit", async () => {
  await withGraph(async (service) => {
    const first = await TestClient.connect(service.server.addr.port);
    const second = await TestClient.connect(service.server.addr.port);
    try {
      assert.equal(await first.request("QUERY|gmp|"), "OK\n");
      assert.equal(await second.request("QUERY|ppl|"), "FAIL\n");
      const { status, json } = await service.getJson("/v1/connections?limit=1");
      assert.equal(status, 200);
      const { connections, ...rest } = json as { connections: Record<string, unknown>[] };
      assert.deepEqual(rest, { total: 2, truncated: true });
      assert.equal(connections.length, 1);
      const { openedAt, ageSeconds, idleSeconds, ...counters } = connections[0]!;
      assert.deepEqual(counters, {
        peer: `127.0.0.1:${first.conn.localAddr.port}`,
        requests: 1,
        bytesReceived: 11,
        bytesSent: 3,
      });
      assert.equal(new Date(openedAt as string).toISOString(), openedAt);
      assert.ok((ageSeconds as number) >= (idleSeconds as number) && (idleSeconds as number) >= 0);
    } finally {
      first.close();
      second.close();
    }
  });
});

Deno.test("GET /v1/slowlog lists the INDEX requests that took the threshold or longer, newest first", async () => {
  await withGraph(async (service) => {
    const client = await TestClient.connect(service.server.addr.port);
    try {
      assert.equal(await client.request("INDEX|ppl|gmp,isl"), "OK\n");
      assert.equal(await client.request("QUERY|ppl|"), "OK\n");
      const { status, json } = await service.getJson("/v1/slowlog?limit=2");
      assert.equal(status, 200);
      const { entries, ...rest } = json as { entries: Record<string, unknown>[] };
      assert.deepEqual(rest, { thresholdMs: 0, recorded: 8 });
      const withoutTimes = entries.map(({ time, durationMs, ...entry }) => {
        assert.equal(new Date(time as string).toISOString(), time);
        assert.equal(typeof durationMs, "number");
        return entry;
      });
      assert.deepEqual(withoutTimes, [
        {
          id: 8,
          command: "INDEX",
          package: "ppl",
          dependencies: 2,
          peer: `127.0.0.1:${client.conn.localAddr.port}`,
        },
        {
          id: 7,
          command: "INDEX",
          package: "org.example:artifact~1",
          dependencies: 0,
          peer: (entries[1] as { peer: string }).peer,
        },
      ]);
    } finally {
      client.close();
    }
  }, { serve: { slowlogThreshold: 0 } });
});

Deno.test("a walk interleaved with mutations answers one state of the index or 409, never a mix", async () => {
  const index = new PackageIndex();
  const length = 50_000;
  const middle = length / 2;
  let withSideNow = false;
  /** Switches w<middle> between depending on side and not, as a client's INDEX would. */
  const switchSide = () => {
    withSideNow = !withSideNow;
    index.index(`w${middle}`, withSideNow ? [`w${middle - 1}`, "side"] : [`w${middle - 1}`]);
  };
  // The walks' clock moves 1 ms per reading, so a walk over the chain runs in many slices; while
  // `switches` is above 0, every 40th reading switches w<middle> at the next turn, which is
  // before the walk resumes.
  let readings = 0;
  let switches = 0;
  const walks = new WalkRunner(index, {
    sliceMs: 30,
    clock: () => {
      if (++readings % 40 === 0 && switches > 0) {
        switches--;
        setTimeout(switchSide, 0);
      }
      return readings;
    },
  });
  const service = startService({ index, inspection: { walks } });
  try {
    await service.feed(chainRequests(length) + "INDEX|side|\n");
    const top = `w${length - 1}`;
    const chain = Array.from({ length }, (_, i) => `w${i}`);
    const withSide = [...chain.slice(0, middle), "side", ...chain.slice(middle)];
    const path = `/v1/packages/${top}/install-order?limit=100000`;
    const order = async () => {
      const { status, json } = await service.getJson(path);
      return status === 200 ? (json as { order: string[] }).order : status;
    };
    assert.deepEqual(await order(), chain);
    const answers = [];
    for (const budget of [1, 2, 3, 4, 5, 6]) {
      switches = budget;
      answers.push(await order());
    }
    switches = 0;
    for (const answer of answers) {
      if (answer === 409) continue;
      assert.ok(
        JSON.stringify(answer) === JSON.stringify(chain) ||
          JSON.stringify(answer) === JSON.stringify(withSide),
        "the answer is the install order of one state",
      );
    }
    assert.ok(answers.some((answer) => answer !== 409), "some walk answered 200");
    assert.ok(answers.includes(409), "some walk was given up with 409");
    assert.ok(walks.restarts >= 1, `some walk started again (${walks.restarts} times)`);
    const final = (await service.getJson(`/v1/packages/w${middle}`)).json as {
      dependencies: string[];
    };
    assert.deepEqual(await order(), final.dependencies.includes("side") ? withSide : chain);
  } finally {
    await service.stop();
  }
});
