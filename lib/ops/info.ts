/**
 * The server's counters as one JSON object, for `GET /v1/info` (like Redis `INFO`): the same
 * numbers `/metrics` exports, shaped for people and scripts rather than for Prometheus.
 *
 * @module
 */

import type { Command } from "../protocol/command_table.ts";
import type { Slowlog } from "../server/slowlog.ts";
import type { ReplyCounts } from "../server/stats.ts";
import { VERSION } from "../util/version.ts";
import type { ReplicationStatus } from "../storage/replication.ts";
import type { MetricsSource } from "./metrics.ts";

/** Everything {@linkcode serverInfo} reports: what `/metrics` reports, and the slow log. */
export interface InfoSource extends MetricsSource {
  /** The server's slow log. */
  slowlog: Slowlog;
}

/** The answer of `GET /v1/info`. */
export interface ServerInfo {
  /** The pkgindex version. */
  version: string;
  /** When the process started, as an ISO 8601 time. */
  startedAt: string;
  /** Whole seconds since the process started. */
  uptimeSeconds: number;
  /** Packages in the index. */
  packages: number;
  /** Dependency edges between indexed packages. */
  edges: number;
  /** Client connections: open now, accepted, rejected at the limit, closed for idling. */
  connections: { open: number; accepted: number; rejected: number; idleTimeouts: number };
  /** Well-formed requests answered, by command and reply. */
  requests: Record<Command, ReplyCounts>;
  /** Lines that were not a well-formed request, over-long ones included. */
  malformed: number;
  /** Lines longer than the line limit. */
  overlong: number;
  /** Bytes received from clients and bytes of replies sent. */
  bytes: { received: number; sent: number };
  /** The slow log's threshold and how many requests it has recorded since the start. */
  slowlog: { thresholdMs: number; recorded: number };
  /** With a data file: transactions committed and failed, and their time in seconds. */
  commits?: { committed: number; failed: number; totalSeconds: number; maxSeconds: number };
  /**
   * With PostgreSQL: the role, epoch, lease and lag of this process among those on one
   * database; `null` without PostgreSQL.
   */
  replication: ReplicationStatus | null;
}

/**
 * A snapshot of `source` as {@linkcode ServerInfo}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serverInfo } from "./info.ts";
 * import { PackageIndex } from "../index/package_index.ts";
 * import { Slowlog } from "../server/slowlog.ts";
 * import { ServerStats } from "../server/stats.ts";
 *
 * const index = PackageIndex.fromEntries([["gmp", []], ["isl", ["gmp"]]]);
 * const info = serverInfo({ stats: new ServerStats(), index, slowlog: new Slowlog(5) });
 * assert.equal(info.packages, 2);
 * assert.equal(info.edges, 1);
 * assert.deepEqual(info.requests.QUERY, { OK: 0, FAIL: 0, ERROR: 0 });
 * assert.equal(info.commits, undefined); // no data file
 * assert.equal(info.replication, null); // no PostgreSQL
 * ```
 */
export function serverInfo(source: InfoSource): ServerInfo {
  const { stats, index, commits, slowlog, replication } = source;
  const requests = Object.fromEntries(
    Object.entries(stats.requests).map(([command, counts]) => [command, { ...counts }]),
  ) as Record<Command, ReplyCounts>;
  return {
    version: VERSION,
    startedAt: new Date(performance.timeOrigin).toISOString(),
    uptimeSeconds: Math.floor(performance.now() / 1000),
    packages: index.size,
    edges: index.edgeCount,
    connections: {
      open: stats.connectionsOpen,
      accepted: stats.connectionsAccepted,
      rejected: stats.connectionsRejected,
      idleTimeouts: stats.idleTimeouts,
    },
    requests,
    malformed: stats.malformedRequests,
    overlong: stats.overlongLines,
    bytes: { received: stats.bytesReceived, sent: stats.bytesSent },
    slowlog: { thresholdMs: slowlog.thresholdMs, recorded: slowlog.recorded },
    ...(commits === undefined ? {} : {
      commits: {
        committed: commits.commits,
        failed: commits.failures,
        totalSeconds: commits.latency.sum,
        maxSeconds: commits.latency.max,
      },
    }),
    replication: replication?.status() ?? null,
  };
}
