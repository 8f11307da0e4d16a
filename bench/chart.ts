/**
 * The chart of `deno task bench --svg FILE`: requests per second per load, and latency
 * percentiles, for pkgindex beside the ceiling and any compared server, as one SVG file.
 *
 * @module
 */

/** The latency percentiles of one result, in microseconds. */
export interface Percentiles {
  /** The median. */
  p50: number;
  /** The 99th percentile. */
  p99: number;
  /** The 99.9th percentile. */
  p999: number;
}

/** What the chart shows: for each load and each server, a rate and its percentiles. */
export interface ChartData {
  /** The title line. */
  title: string;
  /** A smaller line under it: machine, pinning, runs. */
  subtitle: string;
  /** The loads, top to bottom. */
  loads: string[];
  /** The servers, in the order of their bars. */
  servers: string[];
  /** `throughput[load][server]`: requests per second, or `undefined` when not measured. */
  throughput: (number | undefined)[][];
  /** `latency[load][server]`, or `undefined` when not measured. */
  latency: (Percentiles | undefined)[][];
}

const COLORS = ["#1f6feb", "#8c959f", "#d4a72c", "#2da44e", "#cf222e"];
const WIDTH = 960;
const LABEL_WIDTH = 250;
const BAR_HEIGHT = 16;
const GROUP_GAP = 14;

/**
 * Renders `data` as a standalone SVG document: two panels, requests/s (linear, bars) and
 * latency p50/p99/p99.9 (logarithmic, one line per server from p50 to p99.9).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderChart } from "./chart.ts";
 *
 * const svg = renderChart({
 *   title: "pkgindex", subtitle: "example", loads: ["pipelined"], servers: ["pkgindex", "ceiling"],
 *   throughput: [[3_700_000, 4_600_000]], latency: [[{ p50: 90, p99: 200, p999: 400 }, undefined]],
 * });
 * assert.match(svg, /^<svg /);
 * assert.match(svg, /3\.70M/);
 * ```
 */
export function renderChart(data: ChartData): string {
  const parts: string[] = [];
  let y = 20;
  parts.push(text(16, y, data.title, { size: 18, weight: "bold" }));
  y += 20;
  parts.push(text(16, y, data.subtitle, { size: 12, color: "#57606a" }));
  y += 18;
  data.servers.forEach((server, i) => {
    const x = 16 + i * 170;
    parts.push(
      `<rect x="${x}" y="${y}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`,
    );
    parts.push(text(x + 18, y + 10, server, { size: 12 }));
  });
  y += 34;
  parts.push(
    text(16, y, "Requests per second (higher is better; bars scaled per load)", {
      size: 14,
      weight: "bold",
    }),
  );
  y += 12;
  const plotWidth = WIDTH - LABEL_WIDTH - 110;
  for (const [l, load] of data.loads.entries()) {
    const maxRate = Math.max(1, ...(data.throughput[l] ?? []).map((rate) => rate ?? 0));
    const groupHeight = data.servers.length * BAR_HEIGHT;
    parts.push(text(16, y + groupHeight / 2 + 4, load, { size: 12 }));
    data.servers.forEach((_, s) => {
      const rate = data.throughput[l]?.[s];
      const barY = y + s * BAR_HEIGHT;
      if (rate === undefined) {
        parts.push(text(LABEL_WIDTH, barY + 12, "not measured", { size: 11, color: "#8c959f" }));
        return;
      }
      const width = Math.max(1, (rate / maxRate) * plotWidth);
      parts.push(
        `<rect x="${LABEL_WIDTH}" y="${barY + 1}" width="${width.toFixed(1)}" height="${
          BAR_HEIGHT - 3
        }" fill="${COLORS[s % COLORS.length]}"/>`,
      );
      parts.push(text(LABEL_WIDTH + width + 6, barY + 12, formatRate(rate), { size: 11 }));
    });
    y += groupHeight + GROUP_GAP;
  }
  y += 16;
  parts.push(
    text(16, y, "Latency, µs: p50 ● — p99 ○ — p99.9 ■ (log scale, lower is better)", {
      size: 14,
      weight: "bold",
    }),
  );
  y += 12;
  const allLatencies = data.latency.flat().flatMap((p) => p === undefined ? [] : [p.p50, p.p999]);
  const low = Math.max(1, Math.min(...allLatencies, 10));
  const high = Math.max(...allLatencies, 100);
  const latencyWidth = plotWidth - 110;
  const logX = (value: number) =>
    LABEL_WIDTH +
    (Math.log10(Math.max(value, low)) - Math.log10(low)) /
      (Math.log10(high) - Math.log10(low)) * latencyWidth;
  const axisTop = y;
  for (let decade = Math.ceil(Math.log10(low)); 10 ** decade <= high; decade++) {
    const x = logX(10 ** decade).toFixed(1);
    parts.push(`<line x1="${x}" y1="${axisTop}" x2="${x}" y2="AXIS_BOTTOM" stroke="#d0d7de"/>`);
    parts.push(text(Number(x) - 12, axisTop - 2, formatMicroseconds(10 ** decade), { size: 10 }));
  }
  y += 6;
  for (const [l, load] of data.loads.entries()) {
    const groupHeight = data.servers.length * BAR_HEIGHT;
    parts.push(text(16, y + groupHeight / 2 + 4, load, { size: 12 }));
    data.servers.forEach((_, s) => {
      const percentiles = data.latency[l]?.[s];
      const rowY = y + s * BAR_HEIGHT + BAR_HEIGHT / 2;
      if (percentiles === undefined) return;
      const color = COLORS[s % COLORS.length];
      const [x50, x99, x999] = [percentiles.p50, percentiles.p99, percentiles.p999].map(logX);
      parts.push(
        `<line x1="${x50!.toFixed(1)}" y1="${rowY}" x2="${
          x999!.toFixed(1)
        }" y2="${rowY}" stroke="${color}" stroke-width="2"/>`,
        `<circle cx="${x50!.toFixed(1)}" cy="${rowY}" r="4" fill="${color}"/>`,
        `<circle cx="${
          x99!.toFixed(1)
        }" cy="${rowY}" r="4" fill="white" stroke="${color}" stroke-width="2"/>`,
        `<rect x="${(x999! - 4).toFixed(1)}" y="${
          rowY - 4
        }" width="8" height="8" fill="${color}"/>`,
        text(
          x999! + 8,
          rowY + 4,
          [percentiles.p50, percentiles.p99, percentiles.p999].map(formatMicroseconds).join(" / "),
          { size: 10 },
        ),
      );
    });
    y += groupHeight + GROUP_GAP;
  }
  const height = y + 10;
  const body = parts.join("\n").replaceAll("AXIS_BOTTOM", String(y));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" ` +
    `viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n${body}\n</svg>\n`;
}

function text(
  x: number,
  y: number,
  content: string,
  style: { size: number; weight?: string; color?: string },
): string {
  const escaped = content.replaceAll("&", "&amp;").replaceAll("<", "&lt;");
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-size="${style.size}"${
    style.weight === undefined ? "" : ` font-weight="${style.weight}"`
  } fill="${style.color ?? "#24292f"}">${escaped}</text>`;
}

function formatRate(rate: number): string {
  if (rate >= 1e6) return `${(rate / 1e6).toFixed(2)}M/s`;
  if (rate >= 1e3) return `${(rate / 1e3).toFixed(1)}k/s`;
  return `${rate}/s`;
}

function formatMicroseconds(value: number): string {
  return value >= 1000 ? `${Number((value / 1000).toPrecision(3))}ms` : `${Math.round(value)}µs`;
}
