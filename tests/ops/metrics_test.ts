import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import type { CommitStats } from "../../lib/storage/durable_index.ts";
import { Histogram } from "../../lib/util/histogram.ts";
import { renderMetrics } from "../../lib/ops/metrics.ts";
import type { ReplicationStatus } from "../../lib/storage/replication.ts";
import { PackageIndex } from "../../lib/index/package_index.ts";
import { ServerStats } from "../../lib/server/stats.ts";
import { VERSION } from "../../lib/util/version.ts";
import { parseExposition } from "../support/exposition.ts";

function busyStats(): ServerStats {
  const stats = new ServerStats({ openConnections: new Set(["first", "second"]) });
  stats.connectionsAccepted = 7;
  stats.connectionsRejected = 3;
  stats.idleTimeouts = 1;
  stats.bytesReceived = 1234;
  stats.bytesSent = 56;
  stats.overlongLines = 4;
  stats.malformedRequests = 5;
  stats.requests.INDEX.OK = 10;
  stats.requests.INDEX.FAIL = 2;
  stats.requests.REMOVE.OK = 1;
  stats.requests.QUERY.FAIL = 9;
  return stats;
}

function smallIndex(): PackageIndex {
  const index = new PackageIndex();
  index.index("gmp", []);
  index.index("isl", ["gmp"]);
  index.index("cloog", ["gmp", "isl"]);
  return index;
}

Deno.test("renderMetrics renders every counter, gauge and label exactly", () => {
  const text = renderMetrics({ stats: busyStats(), index: smallIndex() });
  strictEqual(
    text,
    `# HELP pkgindex_build_info Always 1; the version label says which pkgindex runs.
# TYPE pkgindex_build_info gauge
pkgindex_build_info{version="${VERSION}"} 1
# HELP pkgindex_connections_open Client connections open now.
# TYPE pkgindex_connections_open gauge
pkgindex_connections_open 2
# HELP pkgindex_connections_total Client connections accepted and served.
# TYPE pkgindex_connections_total counter
pkgindex_connections_total 7
# HELP pkgindex_connections_rejected_total Client connections closed on accept because the connection limit was reached.
# TYPE pkgindex_connections_rejected_total counter
pkgindex_connections_rejected_total 3
# HELP pkgindex_idle_timeouts_total Client connections closed because they stayed idle past the idle timeout.
# TYPE pkgindex_idle_timeouts_total counter
pkgindex_idle_timeouts_total 1
# HELP pkgindex_requests_total Well-formed requests answered, by command and reply.
# TYPE pkgindex_requests_total counter
pkgindex_requests_total{command="INDEX",result="OK"} 10
pkgindex_requests_total{command="INDEX",result="FAIL"} 2
pkgindex_requests_total{command="INDEX",result="ERROR"} 0
pkgindex_requests_total{command="REMOVE",result="OK"} 1
pkgindex_requests_total{command="REMOVE",result="FAIL"} 0
pkgindex_requests_total{command="REMOVE",result="ERROR"} 0
pkgindex_requests_total{command="QUERY",result="OK"} 0
pkgindex_requests_total{command="QUERY",result="FAIL"} 9
pkgindex_requests_total{command="QUERY",result="ERROR"} 0
# HELP pkgindex_malformed_requests_total Lines that were not a well-formed request (over-long ones included), answered ERROR.
# TYPE pkgindex_malformed_requests_total counter
pkgindex_malformed_requests_total 5
# HELP pkgindex_overlong_lines_total Lines longer than the line limit, discarded and answered ERROR.
# TYPE pkgindex_overlong_lines_total counter
pkgindex_overlong_lines_total 4
# HELP pkgindex_received_bytes_total Bytes received from clients.
# TYPE pkgindex_received_bytes_total counter
pkgindex_received_bytes_total 1234
# HELP pkgindex_sent_bytes_total Bytes of replies sent to clients.
# TYPE pkgindex_sent_bytes_total counter
pkgindex_sent_bytes_total 56
# HELP pkgindex_packages Packages in the index.
# TYPE pkgindex_packages gauge
pkgindex_packages 3
# HELP pkgindex_dependency_edges Dependency edges between indexed packages.
# TYPE pkgindex_dependency_edges gauge
pkgindex_dependency_edges 3
`,
  );
  strictEqual(parseExposition(text).size, 20);
});

Deno.test("renderMetrics adds commit metrics with cumulative latency buckets when given commit stats", () => {
  const latency = new Histogram([0.001, 0.01, 0.1]);
  latency.record(2 ** -10, 2); // dyadic values, so that the sum is exactly 1.25
  latency.record(2 ** -4, 3);
  latency.record(1.060546875);
  const commits: CommitStats = { commits: 6, failures: 1, latency };
  const text = renderMetrics({ stats: new ServerStats(), index: new PackageIndex(), commits });
  strictEqual(
    text.slice(text.indexOf("# HELP pkgindex_commits_total")),
    `# HELP pkgindex_commits_total Transactions committed to the data file.
# TYPE pkgindex_commits_total counter
pkgindex_commits_total 6
# HELP pkgindex_commit_failures_total Commits that failed; their changes were undone in memory and answered ERROR.
# TYPE pkgindex_commit_failures_total counter
pkgindex_commit_failures_total 1
# HELP pkgindex_commit_duration_seconds Time taken by each commit to the data file.
# TYPE pkgindex_commit_duration_seconds histogram
pkgindex_commit_duration_seconds_bucket{le="0.001"} 2
pkgindex_commit_duration_seconds_bucket{le="0.01"} 2
pkgindex_commit_duration_seconds_bucket{le="0.1"} 5
pkgindex_commit_duration_seconds_bucket{le="+Inf"} 6
pkgindex_commit_duration_seconds_sum 1.25
pkgindex_commit_duration_seconds_count 6
`,
  );
  const samples = parseExposition(text);
  strictEqual(samples.get('pkgindex_commit_duration_seconds_bucket{le="+Inf"}'), 6);
});

Deno.test("renderMetrics leaves commit metrics out without commit stats", () => {
  const text = renderMetrics({ stats: new ServerStats(), index: new PackageIndex() });
  strictEqual(text.includes("commit"), false);
});

Deno.test("parseExposition returns each sample by name and labels", () => {
  const samples = parseExposition(
    '# HELP pkgindex_a_total A.\n# TYPE pkgindex_a_total counter\npkgindex_a_total{x="1"} 3\n',
  );
  deepStrictEqual([...samples], [['pkgindex_a_total{x="1"}', 3]]);
});

Deno.test("parseExposition rejects what the format or pkgindex's naming rules forbid", () => {
  const invalid = [
    "# HELP pkgindex_a A.\n# TYPE pkgindex_a gauge\npkgindex_a 1", // no final line feed
    "# TYPE pkgindex_a gauge\npkgindex_a 1\n", // no HELP
    "# HELP pkgindex_a A.\npkgindex_a 1\n", // no TYPE
    "# HELP pkgindex_a A.\n# TYPE pkgindex_a counter\npkgindex_a 1\n", // counter without _total
    "# HELP other_a A.\n# TYPE other_a gauge\nother_a 1\n", // no prefix
    "# HELP pkgindex_a A.\n# TYPE pkgindex_a gauge\npkgindex_a one\n", // bad value
    "# HELP pkgindex_a A.\n# TYPE pkgindex_a gauge\npkgindex_a{x=1} 1\n", // unquoted label
    "# HELP pkgindex_a A.\n# TYPE pkgindex_a gauge\npkgindex_a 1\npkgindex_a 2\n", // duplicate
    "# HELP pkgindex_a A.\n# TYPE pkgindex_a gauge\n\npkgindex_a 1\n", // blank line
    "# HELP pkgindex_h H.\n# TYPE pkgindex_h histogram\n" +
    'pkgindex_h_bucket{le="1"} 2\npkgindex_h_bucket{le="+Inf"} 1\npkgindex_h_sum 1\npkgindex_h_count 1\n',
  ];
  for (const text of invalid) throws(() => parseExposition(text), Error, JSON.stringify(text));
});

Deno.test("renderMetrics adds role, lag, takeovers and lease counters with PostgreSQL", () => {
  const status: ReplicationStatus = {
    role: "standby",
    epoch: 4,
    leaseValid: false,
    appliedChange: 90,
    lagChanges: 12,
    lagSeconds: 0.25,
    data: "postgres://app@db:5432/index",
  };
  const text = renderMetrics({
    stats: new ServerStats(),
    index: smallIndex(),
    replication: {
      status: () => status,
      stats: { takeovers: 2, leaseRenewals: 40, leaseFailures: 1, reloads: 0 },
    },
  });
  const samples = parseExposition(text);
  deepStrictEqual(
    [...samples].filter(([name]) => /role|replication|takeover|lease/.test(name)),
    [
      ['pkgindex_role{role="leader"}', 0],
      ['pkgindex_role{role="standby"}', 1],
      ["pkgindex_replication_lag_changes", 12],
      ["pkgindex_replication_lag_seconds", 0.25],
      ["pkgindex_takeovers_total", 2],
      ["pkgindex_lease_renewals_total", 40],
      ["pkgindex_lease_failures_total", 1],
    ],
  );
  strictEqual(text.includes("# TYPE pkgindex_replication_lag_seconds gauge\n"), true);
  strictEqual(
    renderMetrics({ stats: new ServerStats(), index: smallIndex() }).includes("role"),
    false,
  );
});
