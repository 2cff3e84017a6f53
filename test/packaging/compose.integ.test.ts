/**
 * Packaging: the compose file validates with the real Docker Compose client (no engine runs on
 * the test machines, and `config` needs none), and the Makefile keeps the original tool's
 * targets.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');

/** `docker compose` (the plugin) where it exists, else Debian's `docker-compose`. */
function composeCommand(): string[] {
  const plugin = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
  if (plugin.status === 0) return ['docker', 'compose'];
  const standalone = spawnSync('docker-compose', ['version'], { encoding: 'utf8' });
  if (standalone.status === 0) return ['docker-compose'];
  throw new Error('no Docker Compose client: install Debian docker-compose (.ci/run does)');
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
