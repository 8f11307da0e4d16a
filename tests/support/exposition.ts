/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4), for tests: it checks
 * every line of a `/metrics` body and returns the samples, so a test can assert exact values.
 *
 * @module
 */

const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const VALUE = "[+-]?(?:Inf|NaN|\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?)";
const HELP_LINE = new RegExp(`^# HELP (${NAME}) (.*)$`);
const TYPE_LINE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const SAMPLE_LINE = new RegExp(
  `^(${NAME})(\\{(?:${LABEL}(?:,${LABEL})*)?\\})? (${VALUE})(?: -?\\d+)?$`,
);

interface Family {
  help?: string;
  type?: string;
  /** Whether samples of this family have appeared. */
  sampled: boolean;
  /** Whether a later family's lines have appeared since; the family is then closed. */
  closed: boolean;
}

/**
 * Parses a whole exposition and returns each sample's value keyed by its name and labels as
 * written (`pkgindex_requests_total{command="INDEX",result="OK"}`). Throws, naming the line, on
 * anything the format does not allow, and on what pkgindex promises beyond it: every name starts
 * with `pkgindex_`, every counter ends in `_total`, every family has `# HELP` and `# TYPE` before
 * its samples, and histogram buckets are cumulative and end with `le="+Inf"` equal to `_count`.
 */
export function parseExposition(text: string): Map<string, number> {
  if (!text.endsWith("\n")) throw new Error("The exposition does not end with a line feed");
  const samples = new Map<string, number>();
  const families = new Map<string, Family>();
  let current: string | undefined;
  const enter = (name: string, lineNumber: number): Family => {
    if (!name.startsWith("pkgindex_")) {
      throw new Error(`Line ${lineNumber}: metric '${name}' is not prefixed pkgindex_`);
    }
    let family = families.get(name);
    if (family === undefined) {
      family = { sampled: false, closed: false };
      families.set(name, family);
    }
    if (family.closed) throw new Error(`Line ${lineNumber}: metric family '${name}' reopened`);
    if (current !== undefined && current !== name) families.get(current)!.closed = true;
    current = name;
    return family;
  };
  const lines = text.slice(0, -1).split("\n");
  for (const [i, line] of lines.entries()) {
    const lineNumber = i + 1;
    const help = HELP_LINE.exec(line);
    const type = TYPE_LINE.exec(line);
    const sample = SAMPLE_LINE.exec(line);
    if (help !== null) {
      const family = enter(help[1]!, lineNumber);
      if (family.help !== undefined || family.sampled) {
        throw new Error(`Line ${lineNumber}: misplaced or repeated HELP for '${help[1]}'`);
      }
      family.help = help[2]!;
    } else if (type !== null) {
      const family = enter(type[1]!, lineNumber);
      if (family.type !== undefined || family.sampled) {
        throw new Error(`Line ${lineNumber}: misplaced or repeated TYPE for '${type[1]}'`);
      }
      if (type[2] === "counter" && !type[1]!.endsWith("_total")) {
        throw new Error(`Line ${lineNumber}: counter '${type[1]}' does not end in _total`);
      }
      family.type = type[2]!;
    } else if (sample !== null) {
      const name = sample[1]!;
      const familyName = familyOf(name, families);
      const family = enter(familyName, lineNumber);
      if (family.help === undefined || family.type === undefined) {
        throw new Error(`Line ${lineNumber}: sample of '${familyName}' before its HELP and TYPE`);
      }
      family.sampled = true;
      const key = name + (sample[2] ?? "");
      if (samples.has(key)) throw new Error(`Line ${lineNumber}: duplicate sample '${key}'`);
      samples.set(key, Number(sample[3]!.replace("Inf", "Infinity")));
    } else {
      throw new Error(`Line ${lineNumber}: not valid exposition format: '${line}'`);
    }
  }
  for (const [name, family] of families) {
    if (family.help === undefined || family.type === undefined || !family.sampled) {
      throw new Error(`Metric '${name}' lacks HELP, TYPE or samples`);
    }
    if (family.type === "histogram") checkHistogram(name, samples);
  }
  return samples;
}

/** The family a sample belongs to: a histogram's `_bucket`, `_sum` and `_count` are its own. */
function familyOf(name: string, families: Map<string, Family>): string {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    if (families.get(base)?.type === "histogram") return base;
  }
  return name;
}

function checkHistogram(name: string, samples: Map<string, number>): void {
  let previousBound = -Infinity;
  let previousCount = 0;
  for (const [key, count] of samples) {
    const bucket = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\}$`).exec(key);
    if (bucket === null) continue;
    const bound = Number(bucket[1]!.replace("Inf", "Infinity"));
    if (!(bound > previousBound) || count < previousCount) {
      throw new Error(`Histogram '${name}' has buckets out of order at le="${bucket[1]}"`);
    }
    previousBound = bound;
    previousCount = count;
  }
  if (previousBound !== Infinity) throw new Error(`Histogram '${name}' lacks le="+Inf"`);
  if (samples.get(`${name}_count`) !== previousCount || !samples.has(`${name}_sum`)) {
    throw new Error(`Histogram '${name}' has a _count other than its +Inf bucket, or no _sum`);
  }
}
