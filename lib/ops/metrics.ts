/**
 * The server's counters in the Prometheus text exposition format (version 0.0.4), for
 * `GET /metrics`. Rendering is a pure function of what it is given: the hot path only bumps the
 * integers in {@linkcode ServerStats}, and the text is built here, when someone scrapes.
 *
 * Every metric is named `pkgindex_*` and has `# HELP` and `# TYPE`; counters end in `_total`.
 *
 * @module
 */

import { COMMANDS } from "../protocol/command_table.ts";
import { REPLIES } from "../protocol/replies.ts";
import type { ServerStats } from "../server/stats.ts";
import type { CommitStats } from "../storage/durable_index.ts";
import type { LeadershipStats, ReplicationStatus } from "../storage/replication.ts";
import type { Histogram } from "../util/histogram.ts";
import { VERSION } from "../util/version.ts";

/** The `Content-Type` of {@linkcode renderMetrics}'s output. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** How big the index is; {@linkcode PackageIndex} provides it. */
export interface IndexSize {
  /** The number of packages indexed. */
  readonly size: number;
  /** The number of dependency edges between indexed packages. */
  readonly edgeCount: number;
}

/** Everything {@linkcode renderMetrics} reports. */
export interface MetricsSource {
  /** The server's counters. */
  stats: ServerStats;
  /** The index being served. */
  index: IndexSize;
  /** Commit statistics; leave out when the server keeps no data file. */
  commits?: CommitStats;
  /** The process's part among several on one PostgreSQL database; leave out without one. */
  replication?: ReplicationSource;
}

/** What a process on PostgreSQL reports about its role (`Replication` provides it). */
export interface ReplicationSource {
  /** Where the process stands now. */
  status(): ReplicationStatus;
  /** Leadership counters. */
  readonly stats: LeadershipStats;
}

type MetricType = "counter" | "gauge" | "histogram";

/** A metric's samples: one value, or values by their label text (such as `{a="b"}`). */
type Samples = number | [labels: string, value: number][];

/** One metric family of the exposition: its help, and how to read its samples. */
interface MetricFamily {
  readonly help: string;
  /** The samples from `source`; `undefined` leaves the family out (commit metrics in memory). */
  readonly samples: (source: MetricsSource) => Samples | undefined;
}

/**
 * Every metric family by name, in the order of the exposition: its help, and where its samples
 * come from (`undefined` leaves it out: commit metrics in memory, replication without
 * PostgreSQL). The name says the type: counters end in `_total`, the histogram in
 * `_duration_seconds`, and the rest are gauges. One line a
 * family, so that each help stands beside its samples.
 */
// deno-fmt-ignore
const FAMILIES: Readonly<Record<string, MetricFamily>> = {
  pkgindex_build_info: { help: "Always 1; the version label says which pkgindex runs.", samples: () => [[`{version="${VERSION}"}`, 1]] },
  pkgindex_connections_open: { help: "Client connections open now.", samples: ({ stats }) => stats.connectionsOpen },
  pkgindex_connections_total: { help: "Client connections accepted and served.", samples: ({ stats }) => stats.connectionsAccepted },
  pkgindex_connections_rejected_total: { help: "Client connections closed on accept because the connection limit was reached.", samples: ({ stats }) => stats.connectionsRejected },
  pkgindex_idle_timeouts_total: { help: "Client connections closed because they stayed idle past the idle timeout.", samples: ({ stats }) => stats.idleTimeouts },
  pkgindex_requests_total: { help: "Well-formed requests answered, by command and reply.", samples: ({ stats }) => requestSamples(stats) },
  pkgindex_malformed_requests_total: { help: "Lines that were not a well-formed request (over-long ones included), answered ERROR.", samples: ({ stats }) => stats.malformedRequests },
  pkgindex_overlong_lines_total: { help: "Lines longer than the line limit, discarded and answered ERROR.", samples: ({ stats }) => stats.overlongLines },
  pkgindex_received_bytes_total: { help: "Bytes received from clients.", samples: ({ stats }) => stats.bytesReceived },
  pkgindex_sent_bytes_total: { help: "Bytes of replies sent to clients.", samples: ({ stats }) => stats.bytesSent },
  pkgindex_packages: { help: "Packages in the index.", samples: ({ index }) => index.size },
  pkgindex_dependency_edges: { help: "Dependency edges between indexed packages.", samples: ({ index }) => index.edgeCount },
  pkgindex_commits_total: { help: "Transactions committed to the data file.", samples: ({ commits }) => commits?.commits },
  pkgindex_commit_failures_total: { help: "Commits that failed; their changes were undone in memory and answered ERROR.", samples: ({ commits }) => commits?.failures },
  pkgindex_commit_duration_seconds: { help: "Time taken by each commit to the data file.", samples: ({ commits }) => commits && histogramSamples(commits.latency) },
  pkgindex_role: { help: "With PostgreSQL: 1 for this process's role (leader answers, standby follows), 0 otherwise.", samples: ({ replication }) => replication && roleSamples(replication) },
  pkgindex_replication_lag_changes: { help: "With PostgreSQL: changes the standby's last poll of the log found not yet replayed.", samples: ({ replication }) => replication?.status().lagChanges },
  pkgindex_replication_lag_seconds: { help: "With PostgreSQL: how long the oldest of those changes had been committed, in seconds.", samples: ({ replication }) => replication?.status().lagSeconds },
  pkgindex_takeovers_total: { help: "With PostgreSQL: times this process became the leader.", samples: ({ replication }) => replication?.stats.takeovers },
  pkgindex_lease_renewals_total: { help: "With PostgreSQL: lease renewals that proved leadership.", samples: ({ replication }) => replication?.stats.leaseRenewals },
  pkgindex_lease_failures_total: { help: "With PostgreSQL: lease renewals that failed and leases lost while leading.", samples: ({ replication }) => replication?.stats.leaseFailures },
};

function typeOf(name: string): MetricType {
  if (name.endsWith("_total")) return "counter";
  return name.endsWith("_duration_seconds") ? "histogram" : "gauge";
}

/**
 * The name of every metric family pkgindex can export, for checking dashboards and alert rules
 * against what the server really exports.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { METRIC_NAMES } from "./metrics.ts";
 *
 * assert.ok(METRIC_NAMES.includes("pkgindex_requests_total"));
 * ```
 */
export const METRIC_NAMES: readonly string[] = Object.keys(FAMILIES);

/**
 * Renders a snapshot of `source` in the Prometheus text exposition format.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderMetrics } from "./metrics.ts";
 * import { PackageIndex } from "../index/package_index.ts";
 * import { ServerStats } from "../server/stats.ts";
 *
 * const text = renderMetrics({ stats: new ServerStats(), index: new PackageIndex() });
 * assert.ok(text.includes("\npkgindex_packages 0\n"));
 * ```
 */
export function renderMetrics(source: MetricsSource): string {
  const lines: string[] = [];
  for (const [name, { help, samples }] of Object.entries(FAMILIES)) {
    const values = samples(source);
    if (values === undefined) continue;
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${typeOf(name)}`);
    if (typeof values === "number") lines.push(`${name} ${values}`);
    else for (const [labels, value] of values) lines.push(`${name}${labels} ${value}`);
  }
  lines.push("");
  return lines.join("\n");
}

/** The role gauge's samples: 1 for the role the process has now, 0 for the other. */
function roleSamples(replication: ReplicationSource): [string, number][] {
  const { role } = replication.status();
  return (["leader", "standby"] as const).map((
    name,
  ) => [`{role="${name}"}`, role === name ? 1 : 0]);
}

/** The request counters' samples, by command and reply. */
function requestSamples(stats: ServerStats): [string, number][] {
  return COMMANDS.flatMap((command) =>
    REPLIES.map((result): [string, number] => [
      `{command="${command}",result="${result}"}`,
      stats.requests[command][result],
    ])
  );
}

/** A histogram's samples: cumulative `_bucket`s up to `+Inf`, then `_sum` and `_count`. */
function histogramSamples(histogram: Histogram): [string, number][] {
  const counts = histogram.bucketCounts();
  const samples: [string, number][] = [];
  let cumulative = 0;
  for (const [i, bound] of histogram.bounds.entries()) {
    cumulative += counts[i]!;
    samples.push([`_bucket{le="${bound}"}`, cumulative]);
  }
  cumulative += counts[histogram.bounds.length]!;
  samples.push([`_bucket{le="+Inf"}`, cumulative], ["_sum", histogram.sum], ["_count", cumulative]);
  return samples;
}
