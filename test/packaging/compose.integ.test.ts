/**
 * Packaging: the compose file validates with the real Docker Compose client (no engine runs on
 * the test machines, and `config` needs none), and the Makefile keeps the original tool's
 * targets.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** `docker compose` (the plugin) where it exists, else Debian's `docker-compose`. */
function composeCommand(): string[] {
  const plugin = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
  if (plugin.status === 0) return ['docker', 'compose'];
  const standalone = spawnSync('docker-compose', ['version'], { encoding: 'utf8' });
  if (standalone.status === 0) return ['docker-compose'];
  throw new Error('no Docker Compose client: install Debian docker-compose (.ci/run does)');
}

/** `docker compose config` of the project's compose file, with the given host environment. */
function composeConfig(env: NodeJS.ProcessEnv): string {
  const [command, ...prefix] = composeCommand();
  const result = spawnSync(command!, [...prefix, '-f', 'docker-compose.yml', 'config'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

/** The environment a service's containers get, read off `compose config` (both clients' YAML). */
function serviceEnvironment(config: string, service: string): Record<string, string> {
  const block = config.split(/^ {2}(?=\S)/m).find((b) => b.startsWith(`${service}:`)) ?? '';
  const lines = block.split(/^ {4}environment:\n/m)[1]?.split('\n') ?? [];
  const env: Record<string, string> = {};
  for (const line of lines) {
    const match = /^ {6}([A-Z0-9_]+): ?(.*)$/.exec(line);
    if (!match) break;
    env[match[1]!] = match[2]!.replace(/^(['"])(.*)\1$/, '$2');
  }
  return env;
}

describe('packaging', () => {
  it('docker-compose.yml validates and defines redis, worker, dashboard and jobs', () => {
    const [command, ...prefix] = composeCommand();
    const result = spawnSync(command!, [...prefix, '-f', 'docker-compose.yml', 'config'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, CONFIG_FILE_NAME: 'config.ini' },
    });
    assert.equal(result.status, 0, result.stderr);
    const config = result.stdout;
    for (const service of ['redis', 'worker', 'dashboard', 'jobs']) {
      assert.match(config, new RegExp(`^  ${service}:$`, 'm'), `service ${service}`);
    }
    assert.match(config, /127\.0\.0\.1:5555:5555/, 'dashboard published on loopback :5555');
    assert.match(config, /private:\/app\/private:ro/, 'config mounted from private/');
    assert.match(config, /- worker$/m);
  });

  it("containers read the original tool's private/config.docker.ini when it exists, else config.ini, and say which", async () => {
    const env = serviceEnvironment(composeConfig({ CONFIG_FILE_NAME: '' }), 'worker');
    assert.equal(env['MASTODON_S3_SYNC_DOCKER'], '1', JSON.stringify(env));
    assert.equal(env['CONFIG_FILE_NAME'], '', 'compose must not force config.ini');
    for (const service of ['dashboard', 'jobs'])
      assert.deepEqual(serviceEnvironment(composeConfig({ CONFIG_FILE_NAME: '' }), service), env, service);

    // The container's /app, with ./private mounted: run the tool there with the compose environment.
    const app = mkdtempSync(join(tmpdir(), 'msst-docker-app-'));
    try {
      mkdirSync(join(app, 'private'));
      copyFileSync(join(ROOT, 'private', 'config.sample.ini'), join(app, 'private', 'config.docker.ini'));
      copyFileSync(join(ROOT, 'private', 'config.sample.ini'), join(app, 'private', 'config.ini'));
      const withDocker = await runCli(['config', 'check'], { cwd: app, env });
      assert.equal(withDocker.code, 0, withDocker.stderr);
      assert.match(withDocker.stdout, /^private\/config\.docker\.ini: OK/);
      assert.match(
        withDocker.stderr.split('\n')[0]!,
        /config: private\/config\.docker\.ini \(Docker: config\.docker\.ini exists\)/,
      );

      rmSync(join(app, 'private', 'config.docker.ini'));
      const withoutDocker = await runCli(['config', 'check'], { cwd: app, env });
      assert.equal(withoutDocker.code, 0, withoutDocker.stderr);
      assert.match(withoutDocker.stdout, /^private\/config\.ini: OK/);
      assert.match(
        withoutDocker.stderr.split('\n')[0]!,
        /config: private\/config\.ini \(Docker: no config\.docker\.ini\)/,
      );

      // CONFIG_FILE_NAME on the host still picks another file in ./private, as before.
      writeFileSync(join(app, 'private', 'other.ini'), '[s3.source]\n');
      const picked = serviceEnvironment(composeConfig({ CONFIG_FILE_NAME: 'other.ini' }), 'worker');
      assert.equal(picked['CONFIG_FILE_NAME'], 'other.ini');
      const other = await runCli(['config', 'check'], { cwd: app, env: picked });
      assert.match(other.stderr.split('\n')[0]!, /config: private\/other\.ini \(CONFIG_FILE_NAME\)/);
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  });

  it('the Makefile keeps the original targets', () => {
    const dry = (target: string) =>
      execFileSync('make', ['-n', target], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, COMPOSE: 'docker compose' },
      });
    assert.match(dry('worker'), /mastodon-s3-sync worker/);
    assert.match(dry('celery'), /mastodon-s3-sync worker/);
    assert.match(dry('dashboard'), /mastodon-s3-sync dashboard/);
    assert.match(dry('flower'), /mastodon-s3-sync dashboard/);
    assert.match(
      dry('jobs'),
      /jobs media_attachments accounts custom_emojis preview_cards *\n.*jobs preview_card_providers site_uploads backups imports/,
    );
    assert.match(dry('du'), /docker compose up -d/);
    assert.match(dry('dj'), /docker compose run --rm jobs jobs media_attachments/);
    assert.match(dry('install'), /npm ci/);
    assert.match(dry('status'), /mastodon-s3-sync status/);
    assert.match(dry('purge'), /mastodon-s3-sync purge --yes/);
  });
});
