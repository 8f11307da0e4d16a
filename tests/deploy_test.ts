/**
 * The deployment files in deploy/ are checked against the code and against each other, so that
 * they cannot drift: the alert rules may use only metrics the server exports; the systemd units
 * and the compose file only flags and variables the server reads; HAProxy checks the health path
 * the server answers, on the ports the processes listen on.
 */
import assert from "node:assert/strict";
import { SERVE_ENV_VARIABLES, SERVE_FLAGS } from "../lib/cli/serve.ts";
import { METRIC_NAMES } from "../lib/ops/metrics.ts";
import { freePort } from "./support/free_port.ts";
import { PkgindexProcess } from "./support/pkgindex_process.ts";

const deployFile = (name: string) =>
  Deno.readTextFile(new URL(`../deploy/${name}`, import.meta.url));

/** The metric families a text names: `pkgindex_*` words, histogram suffixes dropped. */
function metricFamilies(text: string): string[] {
  const names = text.match(/\bpkgindex_[a-z_]+/g) ?? [];
  return [...new Set(names.map((name) => name.replace(/_(bucket|sum|count)$/, "")))];
}

Deno.test("the alert rules use only metrics the server exports", async () => {
  const used = metricFamilies(await deployFile("alerts.yml"));
  assert.ok(used.length >= 5, `the rules were read (${used.join(", ")})`);
  for (const name of used) assert.ok(METRIC_NAMES.includes(name), `${name} is exported`);
});

Deno.test("the alert check rejects a metric the server does not export", () => {
  const used = metricFamilies("expr: rate(pkgindex_requests_totl[5m]) > 0");
  assert.deepEqual(used.filter((name) => !METRIC_NAMES.includes(name)), ["pkgindex_requests_totl"]);
});

/** What a systemd unit runs: its `serve` flags with their values, and its `Environment=`. */
async function readUnit(name: string) {
  const unit = await deployFile(name);
  const execStart = /^ExecStart=(\S+) serve (.*)$/m.exec(unit);
  assert.ok(execStart !== null, `${name}: ExecStart runs pkgindex serve`);
  const flags = new Map(
    [...execStart[2]!.matchAll(/--([a-z-]+)(?: ([^-\s]\S*))?/g)].map((m) => [m[1]!, m[2] ?? ""]),
  );
  const environment = new Map(
    [...unit.matchAll(/^Environment=(\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]),
  );
  return { unit, flags, environment };
}

for (const name of ["pkgindex.service", "pkgindex-postgres.service"]) {
  Deno.test(`the systemd unit ${name} uses only flags and variables the server has`, async () => {
    const { flags, environment } = await readUnit(name);
    assert.ok(flags.size >= 2);
    for (const flag of flags.keys()) {
      assert.ok(Object.hasOwn(SERVE_FLAGS, flag), `--${flag} exists`);
    }
    assert.ok(environment.size >= 1);
    for (const variable of environment.keys()) {
      assert.ok(SERVE_ENV_VARIABLES.includes(variable), `${variable} is read by serve`);
    }
  });
}

/**
 * The variables a pkgindex process may be given besides its own `PKGINDEX_*` ones: PostgreSQL's
 * password variable, which the server reads for a `postgres://` URL without a password.
 */
const POSTGRES_VARIABLES = ["PGPASSWORD"];

/** The parts of `deploy/haproxy.cfg` that must agree with the processes it fronts. */
async function readHaproxyConfig() {
  const text = await deployFile("haproxy.cfg");
  const backend = /^backend pkgindex_leader\n((?:[ \t]+.*\n|\n)+)/m.exec(text)?.[1] ?? "";
  const servers = [...backend.matchAll(/^\s+server (\S+) ([^:\s]+):(\d+)/gm)].map((m) => ({
    name: m[1]!,
    host: m[2]!,
    port: Number(m[3]),
  }));
  return {
    text,
    servers,
    bind: Number(/^frontend pkgindex\n\s+bind :(\d+)$/m.exec(text)?.[1]),
    checkPort: Number(/^\s+default-server check port (\d+) /m.exec(backend)?.[1]),
    healthPath: /^\s+option httpchk GET (\S+)$/m.exec(backend)?.[1],
    expect: /^\s+http-check expect (.+)$/m.exec(backend)?.[1],
  };
}

Deno.test("HAProxy checks the leader's health endpoint and cuts the clients of a deposed one", async () => {
  const haproxy = await readHaproxyConfig();
  assert.equal(haproxy.healthPath, "/v1/health");
  assert.equal(haproxy.expect, "status 200");
  assert.ok(haproxy.servers.length >= 2, "two or more pkgindex processes");
  assert.match(haproxy.text, / on-marked-down shutdown-sessions /);
  for (const option of ["inter", "fall", "rise"]) {
    assert.match(haproxy.text, new RegExp(` ${option} \\w+ `), `${option} is set`);
  }
});

Deno.test("the PostgreSQL unit listens where HAProxy sends clients and checks health", async () => {
  const haproxy = await readHaproxyConfig();
  const { flags, environment } = await readUnit("pkgindex-postgres.service");
  for (const server of haproxy.servers) assert.equal(server.port, Number(flags.get("port")));
  assert.equal(Number(environment.get("PKGINDEX_HTTP_PORT")), haproxy.checkPort);
  assert.notEqual(environment.get("PKGINDEX_HTTP_HOST"), "127.0.0.1", "HAProxy checks from afar");
  assert.match(flags.get("data")!, /^postgres:\/\/[^:@/]+@[^/]+\/\w+$/, "no password in the URL");
  assert.ok(Number(flags.get("lease")) <= 5);
});

Deno.test("the server answers 200 on the health path HAProxy checks, without PostgreSQL", async () => {
  const { healthPath } = await readHaproxyConfig();
  const httpPort = freePort();
  const server = await PkgindexProcess.start({ name: "standalone", port: freePort(), httpPort });
  try {
    await server.waitFor((health) => health !== undefined, { timeoutMs: 30_000, what: "up" });
    const response = await fetch(`http://127.0.0.1:${httpPort}${healthPath}`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { role: "standalone" });
  } finally {
    await server.stop();
  }
});

Deno.test("the compose file runs PostgreSQL, two pkgindex processes and HAProxy that agree", async () => {
  const compose = readComposeYaml(await deployFile("compose.yml")) as Record<string, Yaml>;
  const services = compose.services as Record<string, Record<string, Yaml>>;
  const haproxy = await readHaproxyConfig();
  const postgres = services.postgres!;
  const postgresEnv = postgres.environment as Record<string, string>;
  assert.match(postgres.image as string, /^postgres:15$/);

  const servers = haproxy.servers.map(({ host }) => host);
  assert.deepEqual(
    Object.keys(services).filter((name) => name.startsWith("pkgindex-")),
    servers,
    "HAProxy's servers are the compose file's pkgindex services",
  );
  for (const [i, name] of servers.entries()) {
    const service = services[name]!;
    const env = service.environment as Record<string, string>;
    assert.deepEqual(service.command, ["serve"]);
    for (const variable of Object.keys(env)) {
      assert.ok(
        SERVE_ENV_VARIABLES.includes(variable) || POSTGRES_VARIABLES.includes(variable),
        `${name}: ${variable} is read by serve`,
      );
    }
    const url = new URL(env.PKGINDEX_DATA!);
    assert.equal(url.protocol, "postgres:");
    assert.equal(url.password, "", "no password in the URL");
    assert.equal(url.username, postgresEnv.POSTGRES_USER);
    assert.equal(url.hostname, "postgres");
    assert.equal(url.pathname, `/${postgresEnv.POSTGRES_DB}`);
    assert.equal(env.PGPASSWORD, postgresEnv.POSTGRES_PASSWORD);
    assert.equal(Number(env.PKGINDEX_PORT), haproxy.servers[i]!.port);
    assert.equal(Number(env.PKGINDEX_HTTP_PORT), haproxy.checkPort);
    assert.equal(env.PKGINDEX_HTTP_HOST, "0.0.0.0");
    assert.ok(env.PKGINDEX_HTTP_TOKEN !== undefined, "/v1/ off loopback needs a token");
    assert.ok(Number(env.PKGINDEX_LEASE) <= 5);
  }

  const balancer = services.haproxy!;
  assert.match(balancer.image as string, /^haproxy:2\.6/);
  assert.ok(
    (balancer.volumes as string[]).includes("./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro"),
    "HAProxy runs deploy/haproxy.cfg",
  );
  assert.ok((balancer.ports as string[]).includes(`${haproxy.bind}:${haproxy.bind}`));
});

/** A YAML value as the compose file writes them: text, lists and mappings. */
type Yaml = string | Yaml[] | { [key: string]: Yaml };

/**
 * Reads the small part of YAML that deploy/compose.yml uses: block mappings and lists, plain,
 * quoted and JSON-style `[...]` scalars, comments, and `&anchor` / `*alias` for a whole mapping.
 * Not a YAML parser: it throws on anything else, so the file stays within what this checks.
 */
function readComposeYaml(text: string): Yaml {
  const lines = text.split("\n").flatMap((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, "").trimEnd();
    return line.trim() === ""
      ? []
      : [{ indent: /^ */.exec(line)![0].length, text: line.trim(), i }];
  });
  const anchors = new Map<string, Yaml>();
  let next = 0;
  const scalar = (text: string): Yaml => {
    if (text.startsWith("*")) {
      const value = anchors.get(text.slice(1));
      if (value === undefined) throw new Error(`Unknown alias ${text}`);
      return value;
    }
    if (text.startsWith("[")) return JSON.parse(text);
    if (/^".*"$/.test(text)) return JSON.parse(text);
    return text;
  };
  const block = (indent: number): Yaml => {
    const first = lines[next];
    if (first === undefined || first.indent < indent) return {};
    if (first.text.startsWith("- ")) {
      const list: Yaml[] = [];
      while (lines[next]?.indent === first.indent && lines[next]!.text.startsWith("- ")) {
        list.push(scalar(lines[next++]!.text.slice(2).trim()));
      }
      return list;
    }
    const map: { [key: string]: Yaml } = {};
    while (lines[next]?.indent === first.indent) {
      const { text, i } = lines[next++]!;
      const match = /^([\w.-]+):(?:\s+(.*))?$/.exec(text);
      if (match === null) throw new Error(`Cannot read line ${i + 1} of the compose file: ${text}`);
      const [, key, rest] = match;
      const anchor = rest?.startsWith("&") ? rest.slice(1) : undefined;
      const value = rest === undefined || anchor !== undefined
        ? block(first.indent + 1)
        : scalar(rest);
      if (anchor !== undefined) anchors.set(anchor, value);
      map[key!] = value;
    }
    return map;
  };
  const document = block(0);
  if (next !== lines.length) throw new Error(`Cannot read line ${lines[next]!.i + 1}`);
  return document;
}
