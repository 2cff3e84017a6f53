/** `pg`, loaded without its Cloudflare probe (pg-probe-guard.ts); the stand-in goes right after. */
// biome-ignore-all assist/source/organizeImports: the guard must be evaluated before pg
import { definedNavigator } from './pg-probe-guard.ts';
import pg from 'pg';

if (definedNavigator) delete (globalThis as { navigator?: unknown }).navigator;

export default pg;
