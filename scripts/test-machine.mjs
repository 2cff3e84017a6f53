#!/usr/bin/env node
// Makes this machine ready for the test suite, or says in one line what it lacks.
//
//   node scripts/test-machine.mjs --install   install what is missing (apt-get, as root; one
//                                             `apt-get update` first), start PostgreSQL and
//                                             Redis when down, then exit 0 (npm run test:all)
//   node scripts/test-machine.mjs --check     install nothing: exit 1 with one line naming the
//                                             packages to install when something is missing
//                                             (npm test, the developer's fast path)
//
// Each action is one line on stderr. The suite never starts on a machine that would cancel
// tests for want of sshd, chromium, rclone or a compose client: it stops here instead.
// Only loopback services are checked or started.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const install = process.argv.includes('--install');
const say = (line) => process.stderr.write(`test-machine: ${line}\n`);

function succeeds(command, args) {
  const result = spawnSync(command, args, { stdio: 'ignore', timeout: 15_000 });
  return result.status === 0;
}
const onPath = (command) => succeeds('sh', ['-c', `command -v ${command}`]);
const composeClient = () =>
  succeeds('docker', ['compose', 'version']) || succeeds('docker-compose', ['version']);

/** What the tests need from the machine, and the Debian package that brings each. */
const TOOLS = [
  { what: 'sshd (SSH tunnel tests)', pkg: 'openssh-server', present: () => existsSync('/usr/sbin/sshd') },
  { what: 'ssh-keygen (SSH tunnel tests)', pkg: 'openssh-client', present: () => onPath('ssh-keygen') },
  { what: 'chromium (dashboard test)', pkg: 'chromium', present: () => existsSync('/usr/bin/chromium') },
  { what: 'rclone (benchmarks, comparison tests)', pkg: 'rclone', present: () => onPath('rclone') },
  { what: 'a Docker Compose client (compose file test)', pkg: 'docker-compose', present: composeClient },
  { what: 'PostgreSQL server', pkg: 'postgresql', present: () => onPath('pg_ctlcluster') },
  { what: 'PostgreSQL client tools', pkg: 'postgresql-client', present: () => onPath('pg_isready') },
  { what: 'Redis server', pkg: 'redis-server', present: () => onPath('redis-server') },
  { what: 'Redis client', pkg: 'redis-tools', present: () => onPath('redis-cli') },
];

/** Host and port of a service the tests use: TEST_DATABASE_URL / TEST_REDIS_URL, else the default. */
function serviceAddress(envName, defaultPort) {
  try {
    const url = new URL(process.env[envName] ?? '');
    return { host: url.hostname || '127.0.0.1', port: url.port || String(defaultPort), custom: true };
  } catch {
    return { host: '127.0.0.1', port: String(defaultPort), custom: false };
  }
}
const postgres = serviceAddress('TEST_DATABASE_URL', 5432);
const redis = serviceAddress('TEST_REDIS_URL', 6379);
const postgresUp = () => succeeds('pg_isready', ['-q', '-h', postgres.host, '-p', postgres.port]);
const redisUp = () => succeeds('redis-cli', ['-h', redis.host, '-p', redis.port, 'ping']);

/** The same commands this machine kind starts its services with before a session. */
function startPostgres() {
  const versions = existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql').sort() : [];
  for (const version of versions)
    spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'ignore' });
}
function startRedis() {
  spawnSync(
    'redis-server',
    ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', '6379', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
}

function waitFor(up, seconds) {
  for (let i = 0; i < seconds * 2; i++) {
    if (up()) return true;
    spawnSync('sleep', ['0.5']);
  }
  return up();
}

function installPackages(packages) {
  const isRoot = process.getuid?.() === 0;
  const manual = `apt-get install -y ${packages.join(' ')}`;
  if (!isRoot || !onPath('apt-get')) {
    say(`missing ${packages.join(', ')}: install them (as root: ${manual}), or run npm run test:all as root`);
    return false;
  }
  const started = Date.now();
  say(`installing ${packages.join(', ')} with apt-get (apt-get update first)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'pipe'], env });
  const result =
    update.status === 0
      ? spawnSync('apt-get', ['install', '-y', '-qq', ...packages], {
          stdio: ['ignore', 'ignore', 'pipe'],
          env,
        })
      : update;
  if (result.status !== 0) {
    const reason =
      String(result.stderr ?? '')
        .trim()
        .split('\n')
        .pop() || `exit ${result.status}`;
    say(`apt-get could not install ${packages.join(', ')} (${reason}): install them by hand (${manual})`);
    return false;
  }
  say(`installed ${packages.join(', ')} in ${Math.round((Date.now() - started) / 1000)} s`);
  return true;
}

function ensureTools() {
  const missing = TOOLS.filter((tool) => !tool.present());
  if (missing.length === 0) return true;
  const packages = [...new Set(missing.map((tool) => tool.pkg))];
  if (!install) {
    say(
      `missing ${missing.map((t) => t.what).join(', ')}: run npm run test:all (installs ${packages.join(' ')} as root)`,
    );
    return false;
  }
  if (!installPackages(packages)) return false;
  const stillMissing = TOOLS.filter((tool) => !tool.present());
  if (stillMissing.length > 0) {
    say(`still missing after apt-get: ${stillMissing.map((t) => t.what).join(', ')}`);
    return false;
  }
  return true;
}

function ensureService(name, service, up, start) {
  const address = `${service.host}:${service.port}`;
  if (up()) return true;
  if (!install || service.custom) {
    const hint = service.custom
      ? 'start it (the TEST_*_URL variable points there)'
      : 'start it, or run npm run test:all (starts it)';
    say(`${name} is not answering on ${address}: ${hint}`);
    return false;
  }
  say(`${name} was not answering on ${address}: starting it`);
  start();
  if (waitFor(up, 30)) {
    say(`${name} started on ${address}`);
    return true;
  }
  say(`${name} did not start on ${address}: start it by hand`);
  return false;
}

const ready =
  ensureTools() &&
  ensureService('PostgreSQL', postgres, postgresUp, startPostgres) &&
  ensureService('Redis', redis, redisUp, startRedis);
if (!ready) process.exit(1);
if (install) say('ready: sshd, chromium, rclone, compose client, PostgreSQL and Redis on loopback');
