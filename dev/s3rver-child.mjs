// Runs one s3rver (a real S3 protocol server) in its own process, on loopback only.
// argv[2]: JSON { port, directory, buckets: [names], credentials: [[accessKeyId, secretKey]] }.
// Prints {"port": N} on stdout once listening; stops on SIGTERM/SIGINT or when stdin closes.
import S3rver from 's3rver';
import AWSAccount from 's3rver/lib/models/account.js';

const options = JSON.parse(process.argv[2] ?? '{}');
for (const [accessKeyId, secretKey] of options.credentials ?? []) {
  AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretKey);
}
const server = new S3rver({
  address: '127.0.0.1',
  port: options.port ?? 0,
  silent: true,
  directory: options.directory,
  configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
});
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);
const stop = async () => {
  await server.close().catch(() => {});
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
