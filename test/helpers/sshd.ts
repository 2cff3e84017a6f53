/**
 * A real OpenSSH server for tests, listening on loopback only, with throwaway keys in a
 * temporary directory. Needs /usr/sbin/sshd (Debian openssh-server) and root.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const SSHD_PATH = '/usr/sbin/sshd';
/** Passphrase of `encryptedKey`. */
export const CLIENT_KEY_PASSPHRASE = 'correct horse battery staple';

export interface TestSshd {
  host: '127.0.0.1';
  port: number;
  /** The user tests log in as (the current user, root on the test machines). */
  user: string;
  /** 'SHA256:...' of the first host key, as `ssh-keygen -lf` prints it. */
  hostFingerprint: string;
  /** Fingerprints of every host key, by type ('ed25519', 'rsa'). */
  hostFingerprints: Record<string, string>;
  /** `<type> <base64>` of the first host key (a known_hosts line without the host field). */
  hostPublicKeyLine: string;
  /** `<type> <base64>` of every host key, by type. */
  hostPublicKeyLines: Record<string, string>;
  /** An authorized ed25519 client key, unencrypted. */
  clientKeyPath: string;
  clientKey: Buffer;
  /** An ed25519 key that is NOT in authorized_keys. */
  unauthorizedKeyPath: string;
  unauthorizedKey: Buffer;
  /** An authorized ed25519 key encrypted with CLIENT_KEY_PASSPHRASE. */
  encryptedKeyPath: string;
  encryptedKey: Buffer;
  dir: string;
  /** What sshd wrote to stderr so far (for failing-test diagnostics). */
  log(): string;
  /** Kills the per-connection sshd processes (clients see the connection drop); keeps listening. */
  dropConnections(): Promise<void>;
  /** Kills sshd and its per-connection processes, removes the directory. Idempotent. */
  stop(): Promise<void>;
}

export interface SshdOptions {
  /** Host key types to generate, first one is the "main" host key. Default ['ed25519']. */
  hostKeyTypes?: Array<'ed25519' | 'rsa' | 'ecdsa'>;
}

async function keygen(path: string, type: string, passphrase = ''): Promise<void> {
  const args = ['-q', '-t', type, '-N', passphrase, '-C', `test-${type}`, '-f', path];
  if (type === 'rsa') args.push('-b', '2048');
  await run('ssh-keygen', args);
}

async function fingerprint(pubPath: string): Promise<string> {
  const { stdout } = await run('ssh-keygen', ['-lf', pubPath]);
  const fp = stdout.split(/\s+/)[1];
  if (!fp?.startsWith('SHA256:')) throw new Error(`unexpected ssh-keygen -lf output: ${stdout}`);
  return fp;
}

async function publicKeyLine(pubPath: string): Promise<string> {
  const [type, b64] = (await readFile(pubPath, 'utf8')).trim().split(/\s+/);
  return `${type} ${b64}`;
}

/** A loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

export async function startSshd(options: SshdOptions = {}): Promise<TestSshd> {
  const hostKeyTypes = options.hostKeyTypes ?? ['ed25519'];
  await access(SSHD_PATH).catch(() => {
    throw new Error(`${SSHD_PATH} not found: install Debian's openssh-server (.ci/run does)`);
  });
  const dir = await mkdtemp(join(tmpdir(), 'test-sshd-'));
  try {
    const hostKeys = hostKeyTypes.map((t) => join(dir, `host_${t}`));
    const clientKeyPath = join(dir, 'client_ed25519');
    const unauthorizedKeyPath = join(dir, 'unauthorized_ed25519');
    const encryptedKeyPath = join(dir, 'encrypted_ed25519');
    await Promise.all([
      ...hostKeyTypes.map((t, i) => keygen(hostKeys[i]!, t)),
      keygen(clientKeyPath, 'ed25519'),
      keygen(unauthorizedKeyPath, 'ed25519'),
      keygen(encryptedKeyPath, 'ed25519', CLIENT_KEY_PASSPHRASE),
    ]);
    const authorizedKeys = join(dir, 'authorized_keys');
    await writeFile(
      authorizedKeys,
      (await readFile(`${clientKeyPath}.pub`, 'utf8')) + (await readFile(`${encryptedKeyPath}.pub`, 'utf8')),
      { mode: 0o600 },
    );
    const hostFingerprints: Record<string, string> = {};
    const hostPublicKeyLines: Record<string, string> = {};
    for (const [i, t] of hostKeyTypes.entries()) {
      hostFingerprints[t] = await fingerprint(`${hostKeys[i]}.pub`);
      hostPublicKeyLines[t] = await publicKeyLine(`${hostKeys[i]}.pub`);
    }
    await mkdir('/run/sshd', { recursive: true });

    // The free port can be taken between freePort() and sshd's bind: retry a few times.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const started = await launch(dir, port, hostKeys, authorizedKeys);
      if ('stop' in started) {
        const first = hostKeyTypes[0]!;
        return {
          host: '127.0.0.1',
          port,
          user: userInfo().username,
          hostFingerprint: hostFingerprints[first]!,
          hostFingerprints,
          hostPublicKeyLine: hostPublicKeyLines[first]!,
          hostPublicKeyLines,
          clientKeyPath,
          clientKey: await readFile(clientKeyPath),
          unauthorizedKeyPath,
          unauthorizedKey: await readFile(unauthorizedKeyPath),
          encryptedKeyPath,
          encryptedKey: await readFile(encryptedKeyPath),
          dir,
          log: started.log,
          dropConnections: started.dropConnections,
          stop: async () => {
            await started.stop();
            await rm(dir, { recursive: true, force: true });
          },
        };
      }
      if (attempt >= 3 || !/Address already in use/.test(started.error)) {
        throw new Error(`sshd did not start: ${started.error}`);
      }
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

type Launched =
  | { log: () => string; dropConnections: () => Promise<void>; stop: () => Promise<void> }
  | { error: string };

/**
 * Process ids of every descendant of `pid`. sshd's per-connection children call setsid(), so
 * killing sshd's process group does not reach them: they are found through /proc instead.
 */
async function descendants(pid: number): Promise<number[]> {
  const parentOf = new Map<number, number>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may contain spaces, so parse after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(name), ppid);
    } catch {
      // exited meanwhile
    }
  }
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const [child, ppid] of parentOf) {
      if (ppid === parent) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

async function killAndWait(pids: number[]): Promise<void> {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  for (let i = 0; i < 100; i++) {
    const alive = pids.filter((p) => {
      try {
        process.kill(p, 0);
        return true;
      } catch {
        return false;
      }
    });
    if (alive.length === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function launch(
  dir: string,
  port: number,
  hostKeys: string[],
  authorizedKeys: string,
): Promise<Launched> {
  const args = [
    '-D',
    '-e',
    '-f',
    '/dev/null', // ignore the system's sshd_config
    '-p',
    String(port),
    '-o',
    'ListenAddress=127.0.0.1',
    ...hostKeys.flatMap((k) => ['-h', k]),
    '-o',
    `AuthorizedKeysFile=${authorizedKeys}`,
    '-o',
    'PermitRootLogin=prohibit-password',
    '-o',
    'PasswordAuthentication=no',
    '-o',
    'KbdInteractiveAuthentication=no',
    '-o',
    'StrictModes=no',
    '-o',
    `PidFile=${join(dir, `sshd-${port}.pid`)}`,
    '-o',
    'AllowTcpForwarding=yes',
    '-o',
    'UsePAM=no',
    '-o',
    'LogLevel=VERBOSE',
  ];
  const child = spawn(SSHD_PATH, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    log = (log + chunk).slice(-64 * 1024);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const listening = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 10_000);
    const onData = () => {
      if (log.includes(`Server listening on 127.0.0.1 port ${port}`)) {
        clearTimeout(timer);
        resolve(true);
      }
    };
    child.stderr.on('data', onData);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(false);
    });
    child.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  let stopped = false;
  const running = () => child.exitCode === null && child.signalCode === null && child.pid !== undefined;
  // If the test process exits without stop(), do not leave sshd listening.
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  const dropConnections = async () => {
    if (running()) await killAndWait(await descendants(child.pid!));
  };
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', killOnExit);
    if (running()) {
      const sessions = await descendants(child.pid!);
      child.kill('SIGTERM');
      await exited;
      await killAndWait(sessions);
    }
  };
  if (!listening) {
    await stop();
    return { error: log.trim() || 'no output' };
  }
  return { log: () => log, dropConnections, stop };
}
