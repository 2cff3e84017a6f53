/**
 * Imported just before `pg` (see pg.ts). On Node 20, which has no `navigator` global, pg's
 * stream.js tells Cloudflare Workers apart by constructing a fetch `Response`, and that loads
 * Node's bundled undici: 15–20 ms of CPU at every start, for a check that is always false
 * here. A `navigator` saying what this is, defined only while pg loads, answers it first.
 */
export const definedNavigator = !('navigator' in globalThis);
if (definedNavigator) {
  Object.defineProperty(globalThis, 'navigator', {
    value: { userAgent: `Node.js/${process.version}` },
    configurable: true,
    writable: true,
  });
}
