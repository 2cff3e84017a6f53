/**
 * A standing thumbnail environment for profiling by hand: two s3rvers, +20 ms proxies, the
 * thumbnail data set seeded; writes /tmp/lab/<n>.ini for fresh destination buckets and
 * /tmp/lab/job-<n>.json for the reference client, then waits until killed.
 * `node --import tsx dev/thumb-lab.ts [rows]`
 */
import { writeFileSync } from 'node:fs';
import { iniFor, seedDatabase, seedObjects, thumbnailDataset } from '../bench/lib/dataset.ts';
import { startProxyProcess } from './proxy.ts';
import { startS3Server } from './s3.ts';

const rows = Number(process.argv[2] ?? 2000);
const dests = Array.from({ length: Number(process.env.LAB_BUCKETS ?? 200) }, (_, i) => `d${i}`);
const servers = await Promise.all([
  startS3Server({
    buckets: ['thumbnails'],
    accessKeyId: 'BENCH-SRC',
    secretAccessKey: 'bench-source-secret',
  }),
  startS3Server({ buckets: dests, accessKeyId: 'BENCH-DST', secretAccessKey: 'bench-destination-secret' }),
]);
const data = thumbnailDataset(rows);
const db = await seedDatabase(data.rows, 'msst_lab');
await seedObjects(servers[0], 'thumbnails', data.keys);
writeFileSync('/tmp/lab/keys', data.keys.map((k) => k.key).join('\n') + '\n');
const proxies = await Promise.all(
  servers.map((s) => startProxyProcess({ target: s.endpoint, latencyMs: 20 })),
);
for (const [i, bucket] of dests.entries()) {
  writeFileSync(
    `/tmp/lab/${i}.ini`,
    iniFor(db, proxies[0]!.endpoint, proxies[1]!.endpoint, 'thumbnails', bucket, servers),
  );
  writeFileSync(
    `/tmp/lab/job-${i}.json`,
    JSON.stringify({
      source: {
        endpoint: proxies[0]!.endpoint,
        bucket: 'thumbnails',
        accessKeyId: 'BENCH-SRC',
        secretAccessKey: 'bench-source-secret',
      },
      dest: {
        endpoint: proxies[1]!.endpoint,
        bucket,
        accessKeyId: 'BENCH-DST',
        secretAccessKey: 'bench-destination-secret',
      },
      keyList: '/tmp/lab/keys',
      concurrency: 32,
    }),
  );
}
console.log(`ready: ${data.keys.length} objects`);
const stop = async () => {
  for (const p of proxies) await p.stop();
  for (const s of servers) await s.stop();
  await db.drop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setInterval(() => {}, 1 << 30);
