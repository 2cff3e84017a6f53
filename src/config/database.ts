/**
 * The database settings a run needs, validated across keys: [pg.database] plus, when enabled,
 * [pg.tunnel]. Files named by the config (SSH key, known_hosts, CA) are read here so that a
 * missing one is reported as a config error naming its key.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.ts';
import { type ConfigFile, configRelativePath, getSection, keyError } from './load.ts';
import { DATABASE, TUNNEL } from './schema.ts';

export interface TunnelConfig {
  sshHost: string;
  sshPort: number;
  sshUser: string;
  sshPassword?: string;
  privateKey?: Buffer;
  privateKeyPath?: string;
  passphrase?: string;
  hostFingerprint?: string;
  knownHostsFile?: string;
  localHost: string;
  localPort: number;
}

export interface DatabaseConfig {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  schema: string;
  ssl: false | { rejectUnauthorized: boolean; ca?: string; checkServerIdentity?: () => undefined };
  connectTimeoutMs: number;
  batchSize: number;
  tunnel: TunnelConfig | null;
}

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}=?$/;

function readConfigFileAt(file: ConfigFile, section: string, key: string, value: string): Buffer {
  const path = configRelativePath(file, value);
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? 'error'})`;
    throw keyError(file, section, key, `${why}: ${path}`);
  }
}

function tunnelConfig(file: ConfigFile): TunnelConfig | null {
  const t = getSection(file, TUNNEL, false);
  if (!t.enabled) return null;
  const name = TUNNEL.name;
  if (!t.ssh_host) throw keyError(file, name, 'ssh_host', 'missing (required when enabled = true)');
  if (!t.ssh_key && !t.ssh_password) {
    throw keyError(file, name, 'ssh_key', 'set ssh_key or ssh_password (required when enabled = true)');
  }
  if (t.host_fingerprint && !FINGERPRINT.test(t.host_fingerprint)) {
    throw keyError(
      file,
      name,
      'host_fingerprint',
      'expected SHA256:<43 base64 characters>, as `ssh-keygen -lf` prints',
    );
  }
  const config: TunnelConfig = {
    sshHost: t.ssh_host,
    sshPort: t.ssh_port,
    sshUser: t.ssh_user,
    localHost: t.local_host,
    localPort: t.local_port,
  };
  if (t.ssh_password) config.sshPassword = t.ssh_password;
  if (t.ssh_key) {
    config.privateKey = readConfigFileAt(file, name, 'ssh_key', t.ssh_key);
    config.privateKeyPath = configRelativePath(file, t.ssh_key);
  }
  if (t.ssh_key_passphrase) config.passphrase = t.ssh_key_passphrase;
  if (t.host_fingerprint) config.hostFingerprint = t.host_fingerprint.replace(/=$/, '');
  if (t.known_hosts) {
    readConfigFileAt(file, name, 'known_hosts', t.known_hosts);
    config.knownHostsFile = configRelativePath(file, t.known_hosts);
  }
  return config;
}

function sslConfig(file: ConfigFile, mode: string, caPath: string | undefined): DatabaseConfig['ssl'] {
  if (mode === 'disable') return false;
  if (mode === 'require') return { rejectUnauthorized: false };
  const ca = caPath ? readConfigFileAt(file, DATABASE.name, 'ssl_ca', caPath).toString('utf8') : undefined;
  const ssl: Exclude<DatabaseConfig['ssl'], false> = { rejectUnauthorized: true };
  if (ca) ssl.ca = ca;
  if (mode === 'verify-ca') ssl.checkServerIdentity = () => undefined;
  return ssl;
}

export function databaseConfig(file: ConfigFile): DatabaseConfig {
  const db = getSection(file, DATABASE, true);
  if (db.database === '') throw keyError(file, DATABASE.name, 'database', 'must not be empty');
  if (!/^[A-Za-z_][A-Za-z0-9_$]*$/.test(db.schema)) {
    throw keyError(file, DATABASE.name, 'schema', 'expected a plain schema name such as public');
  }
  return {
    host: db.host,
    port: db.port,
    user: db.user,
    password: db.password,
    database: db.database,
    schema: db.schema,
    ssl: sslConfig(file, db.sslmode, db.ssl_ca),
    connectTimeoutMs: db.connect_timeout * 1000,
    batchSize: db.batch_size,
    tunnel: tunnelConfig(file),
  };
}

export { ConfigError };
