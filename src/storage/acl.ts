/**
 * Who may read an object, as one comparable value. S3 answers GetObjectAcl with grants;
 * Mastodon writes canned ACLs. Both are reduced to the public access they give: an object is
 * `public-read` when everyone may read it, `authenticated-read` when any AWS user may,
 * `public-read-write` when everyone may also write, else `private` (the owner and named
 * grantees only: bucket-owner-read, bucket-owner-full-control and private are alike here).
 */
export type AccessClass = 'private' | 'public-read' | 'public-read-write' | 'authenticated-read';

const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';
const AUTHENTICATED_USERS = 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers';

export interface Grant {
  granteeUri?: string;
  permission?: string;
}

/** The access a set of grants gives to the public. */
export function accessOfGrants(grants: readonly Grant[]): AccessClass {
  const allows = (uri: string, ...permissions: string[]) =>
    grants.some((g) => g.granteeUri === uri && permissions.includes(g.permission ?? ''));
  if (allows(ALL_USERS, 'WRITE', 'FULL_CONTROL')) return 'public-read-write';
  if (allows(ALL_USERS, 'READ', 'FULL_CONTROL')) return 'public-read';
  if (allows(AUTHENTICATED_USERS, 'READ', 'FULL_CONTROL')) return 'authenticated-read';
  return 'private';
}

/** The access a canned ACL gives to the public. */
export function accessOfCannedAcl(acl: string): AccessClass {
  if (acl === 'public-read' || acl === 'public-read-write' || acl === 'authenticated-read') return acl;
  return 'private';
}
