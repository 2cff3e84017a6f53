/** An rclone config with two S3 remotes, `src` and `dst`, for the benchmarks' comparisons. */
import type { S3Server } from '../../dev/s3.ts';

export function rcloneConfig(source: string, dest: string, servers: [S3Server, S3Server]): string {
  const remote = (name: string, endpoint: string, server: S3Server) => `[${name}]
type = s3
provider = Other
access_key_id = ${server.accessKeyId}
secret_access_key = ${server.secretAccessKey}
endpoint = ${endpoint}
force_path_style = true
`;
  return `${remote('src', source, servers[0])}\n${remote('dst', dest, servers[1])}`;
}
