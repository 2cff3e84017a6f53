/**
 * The benchmarks' reference client: the least a copier can do per object — GET from the source,
 * PUT that response body to the destination with its Content-Length, signed as the tool signs
 * (src/storage/s3/sigv4.ts), over keep-alive node:http sockets, `concurrency` at a time.
 * No lookups, no retries, no checksums, no metadata, no accounting: the harness' own ceiling,
 * so that a result can be read as "the tool reaches N % of what this machine and these
 * servers allow".
 *
 * Run as its own process (so its CPU and RSS are measured like the tool's and rclone's):
 *   node bench/lib/reference-client.mjs '<json job>'   (after `npm run build`: it runs the built
 *   signer, with no TypeScript loader to start, as the tool runs from dist/)
 * Prints one JSON line: { copied, bytes }.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { encodeKey } from '../../dist/storage/s3/object-requests.js';
import { SigV4Signer } from '../../dist/storage/s3/sigv4.js';

/**
 * job: { source: { endpoint, bucket, accessKeyId, secretAccessKey }, dest: { same },
 *        keyList: a file with one key per line, concurrency }
 */
function side(config, agent) {
  const url = new URL(config.endpoint);
  const signer = new SigV4Signer(config, 'us-east-1');
  return (method, key, headers, body) =>
    new Promise((resolve, reject) => {
      const path = `/${config.bucket}/${encodeKey(key)}`;
      headers['host'] = url.host;
      const outgoing = request({
        method,
        hostname: url.hostname,
        port: url.port,
        path,
        headers: signer.sign(method, path, {}, headers),
        agent,
      });
      outgoing.on('error', reject);
      outgoing.on('response', resolve);
      if (body) body.pipe(outgoing);
      else outgoing.end();
    });
}

async function main() {
  const job = JSON.parse(process.argv[2]);
  const keys = readFileSync(job.keyList, 'utf8').split('\n').filter(Boolean);
  const agent = new Agent({ keepAlive: true, maxSockets: job.concurrency * 2 });
  const get = side(job.source, agent);
  const put = side(job.dest, agent);
  let next = 0;
  let bytes = 0;
  const worker = async () => {
    while (next < keys.length) {
      const key = keys[next++];
      const response = await get('GET', key, {});
      if (response.statusCode !== 200) throw new Error(`GET ${key}: HTTP ${response.statusCode}`);
      const length = response.headers['content-length'];
      const written = await put('PUT', key, { 'content-length': length }, response);
      written.resume();
      if (written.statusCode !== 200) throw new Error(`PUT ${key}: HTTP ${written.statusCode}`);
      bytes += Number(length);
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, worker));
  agent.destroy();
  console.log(JSON.stringify({ copied: keys.length, bytes }));
}

if (process.argv[2]) await main();
