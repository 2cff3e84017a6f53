/**
 * An SSH tunnel to the database: one SSH connection, and a local TCP listener whose
 * connections are forwarded (direct-tcpip) to remoteHost:remotePort as seen from the SSH server.
 *
 * The server's host key is always verified, against a pinned SHA256 fingerprint or an OpenSSH
 * known_hosts file; without either we refuse to connect (the database password would otherwise
 * be readable by anyone in the middle). Failures are thrown as one-line ServiceError /
 * ConfigError messages that never contain a password, passphrase or key material. This module
 * prints nothing.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import ssh2, { type ConnectConfig } from 'ssh2';
import { ConfigError, ServiceError } from '../errors.ts';
import { fingerprintOf, keyTypeOf, knownHostsName, knownKeyTypes, matchKnownHosts } from './known-hosts.ts';

const { Client, utils } = ssh2;
type SshClient = InstanceType<typeof Client>;

export interface TunnelOptions {
  sshHost: string;
  sshPort: number;
  sshUser: string;
  /** Password authentication (may be combined with a key). */
  sshPassword?: string;
  /** An ed25519 / RSA / ECDSA private key (OpenSSH or PEM format), optionally encrypted. */
  privateKey?: Buffer;
  passphrase?: string;
  /** Only used to name the key file in error messages. */
  privateKeyPath?: string;
  /** 'SHA256:<base64 without = padding>' as `ssh-keygen -lf` prints it. */
  hostFingerprint?: string;
  /** An OpenSSH known_hosts file (plain or hashed entries; '[host]:port' for ports other than 22). */
  knownHostsFile?: string;
  /** The database as seen from the SSH server. */
  remoteHost: string;
  remotePort: number;
  /** Where to listen locally; port 0 picks a free port. */
  localHost: string;
  localPort: number;
  /** Time allowed for connecting, the handshake and authentication. Default 10000. */
  readyTimeoutMs?: number;
}

export interface Tunnel {
  host: string;
  port: number;
  /** Closes the listener, open forwarded connections and the SSH connection. Idempotent. */
  close(): Promise<void>;
  /**
   * Why the last forwarded connection failed or the SSH connection dropped, if it did:
   * a forwarded connection that fails is simply closed, so the caller can ask here for the
   * reason when its database client reports a dropped connection.
   */
  lastError?(): ServiceError | undefined;
}

const FINGERPRINT_RE = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** Host key algorithms ssh2 can ask for, by the key type a known_hosts line names. */
const HOST_KEY_ALGORITHMS: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

export async function openTunnel(opts: TunnelOptions): Promise<Tunnel> {
  const pinned = opts.hostFingerprint === undefined ? undefined : checkFingerprint(opts.hostFingerprint);
  const knownHosts =
    opts.knownHostsFile === undefined ? undefined : await readKnownHosts(opts.knownHostsFile);
  if (opts.privateKey !== undefined) checkPrivateKey(opts);

  const server = await listen(opts.localHost, opts.localPort);
  let client: SshClient;
  try {
    client = await connect(opts, hostKeyAlgorithms(opts, knownHosts), (key) =>
      hostKeyProblem(opts, key, pinned, knownHosts),
    );
  } catch (err) {
    await new Promise((resolve) => server.close(resolve));
    throw err;
  }

  const target = `${opts.sshHost}:${opts.sshPort}`;
  const remote = `${opts.remoteHost}:${opts.remotePort}`;
  const sockets = new Set<Socket>();
  let lastError: ServiceError | undefined;
  let clientClosed = false;
  client.on('error', (err: Error) => {
    lastError = new ServiceError(`SSH connection to ${target} failed: ${err.message}`);
  });
  client.on('close', () => {
    clientClosed = true;
    lastError ??= new ServiceError(`SSH connection to ${target} was closed`);
    for (const s of sockets) s.destroy();
  });
  server.on('error', (err: Error) => {
    lastError = new ServiceError(`SSH tunnel listener on ${opts.localHost} failed: ${err.message}`);
  });
  server.on('connection', (sock: Socket) => {
    sock.on('error', () => sock.destroy());
    if (clientClosed) {
      sock.destroy(); // the SSH connection is gone: fail at once rather than hang
      return;
    }
    sockets.add(sock);
    sock.once('close', () => sockets.delete(sock));
    const onForward = (err: Error | undefined, stream: ssh2.ClientChannel) => {
      if (err) {
        lastError = new ServiceError(`SSH server ${target} could not connect to ${remote}: ${err.message}`);
        sock.destroy();
        return;
      }
      if (sock.destroyed) {
        stream.close();
        return;
      }
      stream.on('error', () => sock.destroy());
      stream.once('close', () => sock.destroy());
      sock.once('close', () => stream.close());
      sock.pipe(stream).pipe(sock);
    };
    try {
      client.forwardOut(
        sock.remoteAddress ?? '127.0.0.1',
        sock.remotePort ?? 0,
        opts.remoteHost,
        opts.remotePort,
        onForward,
      );
    } catch {
      sock.destroy(); // "Not connected"
    }
  });

  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : opts.localPort;
  let closing: Promise<void> | undefined;
  return {
    host: opts.localHost,
    port,
    lastError: () => lastError,
    close() {
      closing ??= new Promise<void>((resolve) => {
        const clientDone = clientClosed
          ? Promise.resolve()
          : new Promise<void>((r) => client.once('close', () => r()));
        const serverDone = new Promise((r) => server.close(r));
        for (const s of sockets) s.destroy();
        client.end();
        const force = setTimeout(() => client.destroy(), 2000); // a server that never answers
        void Promise.all([clientDone, serverDone]).then(() => {
          clearTimeout(force);
          resolve();
        });
      });
      return closing;
    },
  };
}

function checkFingerprint(value: string): string {
  const fp = value.trim().replace(/=+$/, '');
  if (!FINGERPRINT_RE.test(fp)) {
    throw new ConfigError(
      `[pg.tunnel] host_fingerprint must look like SHA256:<43 base64 characters>, as \`ssh-keygen -lf\` prints it; got "${value}"`,
    );
  }
  return fp;
}

async function readKnownHosts(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError(`cannot read known_hosts file ${path}: ${code}`);
  }
}

/** Parses the key up front (ssh2 would throw a cryptic error from connect()). */
function checkPrivateKey(opts: TunnelOptions): void {
  const name = opts.privateKeyPath ? `private key ${opts.privateKeyPath}` : 'the SSH private key';
  const parsed = utils.parseKey(opts.privateKey!, opts.passphrase);
  if (parsed instanceof Error) {
    if (/passphrase/i.test(parsed.message)) {
      throw new ConfigError(
        opts.passphrase === undefined
          ? `${name} is encrypted: configure its passphrase`
          : `cannot decrypt ${name}: wrong passphrase`,
      );
    }
    throw new ConfigError(`cannot read ${name}: ${parsed.message}`);
  }
  const key: ssh2.ParsedKey | undefined = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key === undefined || key.getPrivatePEM() === null) {
    throw new ConfigError(`${name} is not a private key (is it the .pub file?)`);
  }
}

function listen(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        new ServiceError(
          err.code === 'EADDRINUSE'
            ? `local port ${host}:${port} for the SSH tunnel is already in use; choose another local port (0 picks a free one)`
            : `cannot listen on ${host}:${port} for the SSH tunnel: ${err.code ?? err.message}`,
        ),
      );
    });
    server.listen(port, host, () => {
      server.removeAllListeners('error');
      resolve(server);
    });
  });
}

/** Why the server's host key is not accepted, or undefined when it is. */
function hostKeyProblem(
  opts: TunnelOptions,
  key: Buffer,
  pinned: string | undefined,
  knownHosts: string | undefined,
): string | undefined {
  const target = `${opts.sshHost}:${opts.sshPort}`;
  const got = fingerprintOf(key);
  const type = keyTypeOf(key) || 'unknown-type';
  if (pinned === undefined && knownHosts === undefined) {
    return (
      `refusing to connect to SSH server ${target}: its host key cannot be verified (no host_fingerprint or known_hosts configured). ` +
      `The server presented ${type} key ${got}; check it out of band (ssh-keygen -lf on the server's host key) ` +
      `and set [pg.tunnel] host_fingerprint = ${got}, or known_hosts = FILE`
    );
  }
  if (pinned === got) return undefined;
  const reasons: string[] = [];
  if (pinned !== undefined) reasons.push(`expected host_fingerprint ${pinned}, got ${got} (${type})`);
  if (knownHosts !== undefined) {
    const result = matchKnownHosts(knownHosts, opts.sshHost, opts.sshPort, key);
    if (result === 'match') return undefined;
    const name = knownHostsName(opts.sshHost, opts.sshPort);
    reasons.push(
      result === 'mismatch'
        ? `known_hosts ${opts.knownHostsFile} has a different ${type} key for ${name} (got ${got})`
        : `no ${type} key for ${name} in known_hosts ${opts.knownHostsFile} (got ${got})`,
    );
  }
  return (
    `refusing to connect to SSH server ${target}: host key not accepted: ${reasons.join('; ')}. ` +
    `This may be a man-in-the-middle; if the server's key really changed, verify the new fingerprint out of band and update the config`
  );
}

function hostKeyAlgorithms(opts: TunnelOptions, knownHosts: string | undefined): ConnectConfig['algorithms'] {
  // Ask for a key type known_hosts has (ssh2 would otherwise prefer ed25519, then ECDSA).
  if (knownHosts === undefined || opts.hostFingerprint !== undefined) return undefined;
  const preferred = knownKeyTypes(knownHosts, opts.sshHost, opts.sshPort).flatMap(
    (t) => HOST_KEY_ALGORITHMS[t] ?? [],
  );
  if (preferred.length === 0) return undefined;
  return { serverHostKey: { remove: preferred, prepend: preferred } } as ConnectConfig['algorithms'];
}

function connect(
  opts: TunnelOptions,
  algorithms: ConnectConfig['algorithms'],
  verify: (key: Buffer) => string | undefined,
): Promise<SshClient> {
  const target = `${opts.sshHost}:${opts.sshPort}`;
  const timeoutMs = opts.readyTimeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const client = new Client();
    let refusal: string | undefined;
    let settled = false;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      client.destroy();
      reject(new ServiceError(message));
    };
    client.once('ready', () => {
      if (settled) return;
      settled = true;
      client.removeAllListeners('error');
      client.removeAllListeners('close');
      resolve(client);
    });
    client.on('error', (err: Error & { level?: string; code?: string }) => {
      if (refusal !== undefined) return fail(refusal);
      if (err.level === 'client-authentication') return fail(authFailure(opts));
      if (err.level === 'client-timeout') {
        return fail(
          `SSH connection to ${target} timed out after ${timeoutMs} ms waiting for the SSH handshake and login`,
        );
      }
      if (err.code === 'ECONNREFUSED')
        return fail(`cannot connect to SSH server ${target}: connection refused`);
      if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') {
        return fail(`cannot connect to SSH server ${target}: host not found`);
      }
      if (err.level === 'client-socket') {
        return fail(`cannot connect to SSH server ${target}: ${err.code ?? err.message}`);
      }
      fail(`SSH connection to ${target} failed: ${err.message}`);
    });
    client.on('close', () =>
      fail(refusal ?? `SSH server ${target} closed the connection before login completed`),
    );
    try {
      client.connect({
        host: opts.sshHost,
        port: opts.sshPort,
        username: opts.sshUser,
        password: opts.sshPassword,
        privateKey: opts.privateKey,
        passphrase: opts.passphrase,
        readyTimeout: timeoutMs,
        keepaliveInterval: 15_000,
        keepaliveCountMax: 3,
        algorithms,
        hostVerifier: (key: Buffer): boolean => {
          refusal = verify(key);
          return refusal === undefined;
        },
      });
    } catch (err) {
      fail(`SSH connection to ${target} failed: ${(err as Error).message}`);
    }
  });
}

function authFailure(opts: TunnelOptions): string {
  const offered = [
    opts.privateKey !== undefined
      ? `the private key${opts.privateKeyPath ? ` ${opts.privateKeyPath}` : ''}`
      : '',
    opts.sshPassword !== undefined ? 'the password' : '',
  ].filter((s) => s !== '');
  const what =
    offered.length > 0
      ? `rejected ${offered.join(' and ')}`
      : 'requires a private key or password (none configured)';
  return `SSH authentication failed for user "${opts.sshUser}" at ${opts.sshHost}:${opts.sshPort}: the server ${what}`;
}
