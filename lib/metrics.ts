/**
 * The server's counters in the Prometheus text exposition format (version 0.0.4), for
 * `GET /metrics`. Rendering is a pure function of what it is given: the hot path only bumps the
 * integers in {@linkcode ServerStats}, and the text is built here, when someone scrapes.
 *
 * Every metric is named `pkgindex_*` and has `# HELP` and `# TYPE`; counters end in `_total`.
 *
 * @module
 */

import type { CommitStats } from "./durable_index.ts";
import { COMMANDS } from "./protocol.ts";
import type { ServerStats } from "./stats.ts";
import { VERSION } from "./version.ts";

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
}

type MetricType = "counter" | "gauge" | "histogram";

/**
 * Renders a snapshot of `source` in the Prometheus text exposition format.
 *
 * @example
 * ```ts
 * import { renderMetrics } from "./metrics.ts";
 * import { PackageIndex } from "./package_index.ts";
 * import { ServerStats } from "./stats.ts";
 *
 * const text = renderMetrics({ stats: new ServerStats(), index: new PackageIndex() });
 * text.includes("pkgindex_packages 0\n"); // true
 * ```
 */
export function renderMetrics(source: MetricsSource): string {
  const { stats, index, commits } = source;
  const lines: string[] = [];
  const metric = (name: string, type: MetricType, help: string) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };
  metric("pkgindex_build_info", "gauge", "Always 1; the version label says which pkgindex runs.");
  lines.push(`pkgindex_build_info{version="${VERSION}"} 1`);
  metric("pkgindex_connections_open", "gauge", "Client connections open now.");
  lines.push(`pkgindex_connections_open ${stats.connectionsOpen}`);
  metric("pkgindex_connections_total", "counter", "Client connections accepted and served.");
  lines.push(`pkgindex_connections_total ${stats.connectionsAccepted}`);
  metric(
    "pkgindex_connections_rejected_total",
    "counter",
    "Client connections closed on accept because the connection limit was reached.",
  );
  lines.push(`pkgindex_connections_rejected_total ${stats.connectionsRejected}`);
  metric(
    "pkgindex_idle_timeouts_total",
    "counter",
    "Client connections closed because they stayed idle past the idle timeout.",
  );
  lines.push(`pkgindex_idle_timeouts_total ${stats.idleTimeouts}`);
  metric(
    "pkgindex_requests_total",
    "counter",
    "Well-formed requests answered, by command and reply.",
  );
  for (const command of COMMANDS) {
    const counts = stats.requests[command];
    for (const result of ["OK", "FAIL", "ERROR"] as const) {
      lines.push(
        `pkgindex_requests_total{command="${command}",result="${result}"} ${counts[result]}`,
      );
    }
  }
  metric(
    "pkgindex_malformed_requests_total",
    "counter",
    "Lines that were not a well-formed request (over-long ones included), answered ERROR.",
  );
  lines.push(`pkgindex_malformed_requests_total ${stats.malformedRequests}`);
  metric(
    "pkgindex_overlong_lines_total",
    "counter",
    "Lines longer than the line limit, discarded and answered ERROR.",
  );
  lines.push(`pkgindex_overlong_lines_total ${stats.overlongLines}`);
  metric("pkgindex_received_bytes_total", "counter", "Bytes received from clients.");
  lines.push(`pkgindex_received_bytes_total ${stats.bytesRead}`);
  metric("pkgindex_sent_bytes_total", "counter", "Bytes of replies sent to clients.");
  lines.push(`pkgindex_sent_bytes_total ${stats.bytesWritten}`);
  metric("pkgindex_packages", "gauge", "Packages in the index.");
  lines.push(`pkgindex_packages ${index.size}`);
  metric("pkgindex_dependency_edges", "gauge", "Dependency edges between indexed packages.");
  lines.push(`pkgindex_dependency_edges ${index.edgeCount}`);
  if (commits !== undefined) {
    metric("pkgindex_commits_total", "counter", "Transactions committed to the data file.");
    lines.push(`pkgindex_commits_total ${commits.commits}`);
    metric(
      "pkgindex_commit_failures_total",
      "counter",
      "Commits that failed; their changes were undone in memory and answered ERROR.",
    );
    lines.push(`pkgindex_commit_failures_total ${commits.failures}`);
    metric(
      "pkgindex_commit_duration_seconds",
      "histogram",
      "Time taken by each commit to the data file.",
    );
    pushHistogram(lines, "pkgindex_commit_duration_seconds", commits.latency);
  }
  lines.push("");
  return lines.join("\n");
}

function pushHistogram(lines: string[], name: string, histogram: CommitStats["latency"]): void {
  let cumulative = 0;
  for (const [i, bound] of histogram.bounds.entries()) {
    cumulative += histogram.counts[i] ?? 0;
    lines.push(`${name}_bucket{le="${bound}"} ${cumulative}`);
  }
  cumulative += histogram.counts[histogram.bounds.length] ?? 0;
  lines.push(
    `${name}_bucket{le="+Inf"} ${cumulative}`,
    `${name}_sum ${histogram.sum}`,
    `${name}_count ${cumulative}`,
  );
}
