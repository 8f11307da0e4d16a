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

/** One metric family of the exposition: its name, type, help, and how to read its samples. */
interface MetricFamily {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  /** The samples from `source`; `undefined` leaves the family out (commit metrics in memory). */
  readonly samples: (source: MetricsSource) => Samples | undefined;
}

/**
 * Metric name → help, in the order of the exposition. The name says the type: counters end in
 * `_total`, the histogram in `_seconds`, and the rest are gauges. Where the samples come from is
 * in {@linkcode SAMPLES}.
 */
const HELP = {
  pkgindex_build_info: "Always 1; the version label says which pkgindex runs.",
  pkgindex_connections_open: "Client connections open now.",
  pkgindex_connections_total: "Client connections accepted and served.",
  pkgindex_connections_rejected_total:
    "Client connections closed on accept because the connection limit was reached.",
  pkgindex_idle_timeouts_total:
    "Client connections closed because they stayed idle past the idle timeout.",
  pkgindex_requests_total: "Well-formed requests answered, by command and reply.",
  pkgindex_malformed_requests_total:
    "Lines that were not a well-formed request (over-long ones included), answered ERROR.",
  pkgindex_overlong_lines_total: "Lines longer than the line limit, discarded and answered ERROR.",
  pkgindex_received_bytes_total: "Bytes received from clients.",
  pkgindex_sent_bytes_total: "Bytes of replies sent to clients.",
  pkgindex_packages: "Packages in the index.",
  pkgindex_dependency_edges: "Dependency edges between indexed packages.",
  pkgindex_commits_total: "Transactions committed to the data file.",
  pkgindex_commit_failures_total:
    "Commits that failed; their changes were undone in memory and answered ERROR.",
  pkgindex_commit_duration_seconds: "Time taken by each commit to the data file.",
  pkgindex_role:
    "With PostgreSQL: 1 for this process's role (leader answers, standby follows), 0 otherwise.",
  pkgindex_replication_lag_changes: "With PostgreSQL: changes in the log not yet in this index.",
  pkgindex_replication_lag_seconds:
    "With PostgreSQL: seconds since the oldest change not yet in this index was committed.",
  pkgindex_takeovers_total: "With PostgreSQL: times this process became the leader.",
  pkgindex_lease_renewals_total: "With PostgreSQL: lease renewals that proved leadership.",
  pkgindex_lease_failures_total:
    "With PostgreSQL: lease renewals that failed and leases lost while leading.",
} as const;

function typeOf(name: string): MetricType {
  if (name.endsWith("_total")) return "counter";
  return name.endsWith("_duration_seconds") ? "histogram" : "gauge";
}

/**
 * Where each metric's samples come from; `undefined` leaves it out (commits in memory only,
 * replication without PostgreSQL).
 */
const SAMPLES: Record<keyof typeof HELP, (source: MetricsSource) => Samples | undefined> = {
  pkgindex_build_info: () => [[`{version="${VERSION}"}`, 1]],
  pkgindex_connections_open: ({ stats }) => stats.connectionsOpen,
  pkgindex_connections_total: ({ stats }) => stats.connectionsAccepted,
  pkgindex_connections_rejected_total: ({ stats }) => stats.connectionsRejected,
  pkgindex_idle_timeouts_total: ({ stats }) => stats.idleTimeouts,
  pkgindex_requests_total: ({ stats }) =>
    COMMANDS.flatMap((command) =>
      REPLIES.map((result): [string, number] => [
        `{command="${command}",result="${result}"}`,
        stats.requests[command][result],
      ])
    ),
  pkgindex_malformed_requests_total: ({ stats }) => stats.malformedRequests,
  pkgindex_overlong_lines_total: ({ stats }) => stats.overlongLines,
  pkgindex_received_bytes_total: ({ stats }) => stats.bytesRead,
  pkgindex_sent_bytes_total: ({ stats }) => stats.bytesWritten,
  pkgindex_packages: ({ index }) => index.size,
  pkgindex_dependency_edges: ({ index }) => index.edgeCount,
  pkgindex_commits_total: ({ commits }) => commits?.commits,
  pkgindex_commit_failures_total: ({ commits }) => commits?.failures,
  pkgindex_commit_duration_seconds: ({ commits }) =>
    commits === undefined ? undefined : histogramSamples(commits.latency),
  pkgindex_role: ({ replication }) => {
    if (replication === undefined) return undefined;
    const { role } = replication.status();
    return (["leader", "standby"] as const).map((
      name,
    ): [string, number] => [`{role="${name}"}`, role === name ? 1 : 0]);
  },
  pkgindex_replication_lag_changes: ({ replication }) => replication?.status().lagChanges,
  pkgindex_replication_lag_seconds: ({ replication }) => replication?.status().lagSeconds,
  pkgindex_takeovers_total: ({ replication }) => replication?.stats.takeovers,
  pkgindex_lease_renewals_total: ({ replication }) => replication?.stats.leaseRenewals,
  pkgindex_lease_failures_total: ({ replication }) => replication?.stats.leaseFailures,
};

const FAMILIES: readonly MetricFamily[] = Object.entries(HELP).map(([name, help]) => ({
  name,
  type: typeOf(name),
  help,
  samples: SAMPLES[name as keyof typeof HELP],
}));

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
export const METRIC_NAMES: readonly string[] = FAMILIES.map(({ name }) => name);

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
  for (const { name, type, help, samples } of FAMILIES) {
    const values = samples(source);
    if (values === undefined) continue;
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    if (typeof values === "number") lines.push(`${name} ${values}`);
    else for (const [labels, value] of values) lines.push(`${name}${labels} ${value}`);
  }
  lines.push("");
  return lines.join("\n");
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
