/**
 * Sums a Node `--cpu-prof` profile by package (or file) and by function, self time only:
 * `node --import tsx dev/cpu-profile.ts <file.cpuprofile> [--by file|package|function] [--top N]`.
 * The quickest way to see where CPU per object goes (README, Benchmarks).
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1]! : fallback;
}

/** node_modules/<pkg> (scoped too), node: internals, or the file relative to the project. */
export function groupOfUrl(url: string, functionName = ''): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  if (url.startsWith('node:')) return url;
  const src = /\/(src|dist|bench|dev)\/(.*)$/.exec(url);
  return src ? `${src[1]}/${src[2]}` : url;
}

function main(): void {
  const file = process.argv[2];
  if (!file) throw new Error('usage: dev/cpu-profile.ts <file.cpuprofile> [--by package|file|function]');
  const by = arg('by', 'package');
  const top = Number(arg('top', '25'));
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  let all = 0;
  if (by === 'inclusive') {
    // Time spent in each of this tool's functions and everything they called.
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    profile.samples.forEach((id, i) => {
      const us = profile.timeDeltas[i] ?? 0;
      all += us;
      const seen = new Set<string>();
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const frame = nodes.get(at)!.callFrame;
        if (!/\/(src|dist)\//.test(frame.url)) continue;
        const name = `${frame.functionName || '(anonymous)'} ${groupOfUrl(frame.url)}:${frame.lineNumber + 1}`;
        if (seen.has(name)) continue;
        seen.add(name);
        totals.set(name, (totals.get(name) ?? 0) + us);
      }
    });
  } else
    profile.samples.forEach((id, i) => {
      const frame = nodes.get(id)!.callFrame;
      const us = profile.timeDeltas[i] ?? 0;
      all += us;
      const group =
        by === 'function'
          ? `${frame.functionName || '(anonymous)'} ${groupOfUrl(frame.url, frame.functionName)}:${frame.lineNumber + 1}`
          : by === 'file'
            ? groupOfUrl(frame.url, frame.functionName) === frame.url
              ? frame.url
              : groupOfUrl(frame.url, frame.functionName)
            : groupOfUrl(frame.url, frame.functionName).replace(/^(src|dist)\/.*/, '(this tool)');
      totals.set(group, (totals.get(group) ?? 0) + us);
    });
  console.log(`total ${(all / 1000).toFixed(0)} ms sampled`);
  for (const [group, us] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(
      `${(us / 1000).toFixed(1).padStart(9)} ms  ${((100 * us) / all).toFixed(1).padStart(5)} %  ${group}`,
    );
  }
}

main();
