/** `runbook`: prints the migration steps for the configured stores (no service is contacted). */
import { storeConfig } from '../config/stores.ts';
import { renderRunbook } from '../migration/runbook.ts';
import type { CommandContext } from './context.ts';
import { writeChunk } from './output.ts';

export async function runRunbookCommand(
  ctx: CommandContext,
  options: { aliasHost?: string },
): Promise<number> {
  const text = renderRunbook({
    source: storeConfig(ctx.file, 'source'),
    destination: storeConfig(ctx.file, 'destination'),
    configPath: ctx.file.displayPath,
    ...(options.aliasHost ? { aliasHost: options.aliasHost } : {}),
  });
  await writeChunk(process.stdout, ctx.redact(text));
  return 0;
}
