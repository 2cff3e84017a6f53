/**
 * Reads a /metrics answer back with a maintained parser of the Prometheus text format
 * (parse-prometheus-text-format), into `name{label="v",…}` → value, for exact comparisons.
 */
import { createRequire } from 'node:module';

interface ParsedFamily {
  name: string;
  help: string;
  type: string;
  metrics: Array<{ value?: string; labels?: Record<string, string> }>;
}

const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (
  text: string,
) => ParsedFamily[];

export interface Scrape {
  families: ParsedFamily[];
  /** `name{a="x",b="y"}` (labels sorted) → value. */
  values: Map<string, number>;
  /** The value of one series; undefined when it is absent. */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

function seriesName(name: string, labels: Record<string, string> = {}): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]}"`);
  return parts.length ? `${name}{${parts.join(',')}}` : name;
}

export function parseMetrics(text: string): Scrape {
  const families = parse(text);
  const values = new Map<string, number>();
  for (const family of families) {
    for (const m of family.metrics) {
      if (m.value !== undefined) values.set(seriesName(family.name, m.labels), Number(m.value));
    }
  }
  return { families, values, value: (name, labels) => values.get(seriesName(name, labels)) };
}
