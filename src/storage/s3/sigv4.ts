/**
 * AWS Signature Version 4 for the object requests (GET, PUT, part uploads), synchronous and
 * with the signing key derived once per day. @smithy/signature-v4 gives the same signatures
 * (a unit test checks it header for header) but, per request, clones the request, derives a
 * cache key with an extra HMAC and awaits several promises: ≈ 0.25 ms of CPU per request in
 * the thumbnail profile, the largest single cost of the copy path after the sockets.
 *
 * Signed: host, x-amz-* (S3 requires every one sent to be signed), content-md5 and
 * content-type. Not signed: content-length and cache-control, which S3 does not require and
 * which proxies may rewrite. The payload is UNSIGNED-PAYLOAD: the body is held to its size
 * and checked by Content-MD5 instead of hashed up front.
 */
import { createHmac, hash } from 'node:crypto';

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** Characters RFC 3986 leaves as they are: most keys and query values are made of nothing else. */
const UNRESERVED_ONLY = /^[A-Za-z0-9\-._~]*$/;

/** RFC 3986 percent-encoding, as SigV4 canonicalises query names and values. */
export function rfc3986(text: string): string {
  if (UNRESERVED_ONLY.test(text)) return text;
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** The canonical query string: names sorted, names and values RFC 3986 encoded. */
export function canonicalQuery(query: Readonly<Record<string, string>>): string {
  const names = Object.keys(query);
  if (names.length === 0) return '';
  return names
    .sort()
    .map((name) => `${rfc3986(name)}=${rfc3986(query[name]!)}`)
    .join('&');
}

function mustSign(name: string): boolean {
  return name === 'host' || name === 'content-md5' || name === 'content-type' || name.startsWith('x-amz-');
}

export class SigV4Signer {
  private day = '';
  private signingKey: Buffer = Buffer.alloc(0);
  private second = -1;
  private amzDate = '';

  constructor(
    private readonly credentials: SigningCredentials,
    private readonly region: string,
    private readonly service = 's3',
  ) {}

  /** YYYYMMDDTHHMMSSZ of `now`, computed once per second. */
  private dateOf(now: number): string {
    const second = Math.floor(now / 1000);
    if (second !== this.second) {
      this.second = second;
      this.amzDate = new Date(second * 1000).toISOString().replace(/[-:]|\.\d{3}/g, '');
    }
    return this.amzDate;
  }

  /** The key for one day, region and service: four HMACs, once a day instead of per request. */
  private keyFor(day: string): Buffer {
    if (day !== this.day) {
      const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
      const dated = hmac(`AWS4${this.credentials.secretAccessKey}`, day);
      this.signingKey = hmac(hmac(hmac(dated, this.region), this.service), 'aws4_request');
      this.day = day;
    }
    return this.signingKey;
  }

  /**
   * Adds x-amz-date, x-amz-content-sha256 and authorization to `headers` (lower-case names;
   * `host` among them) for a request to `path` (already URI-encoded, as sent).
   */
  sign(
    method: string,
    path: string,
    query: Readonly<Record<string, string>>,
    headers: Record<string, string>,
    now = Date.now(),
  ): Record<string, string> {
    const amzDate = this.dateOf(now);
    const day = amzDate.slice(0, 8);
    headers['x-amz-date'] = amzDate;
    headers['x-amz-content-sha256'] ??= UNSIGNED_PAYLOAD;
    const names = Object.keys(headers).filter(mustSign).sort();
    let canonicalHeaders = '';
    for (const name of names) canonicalHeaders += `${name}:${headers[name]!.trim().replace(/\s+/g, ' ')}\n`;
    const signedHeaders = names.join(';');
    const canonicalRequest = `${method}\n${path}\n${canonicalQuery(query)}\n${canonicalHeaders}\n${signedHeaders}\n${headers['x-amz-content-sha256']}`;
    const scope = `${day}/${this.region}/${this.service}/aws4_request`;
    const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${hash('sha256', canonicalRequest)}`;
    const signature = createHmac('sha256', this.keyFor(day)).update(stringToSign).digest('hex');
    headers['authorization'] =
      `AWS4-HMAC-SHA256 Credential=${this.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return headers;
  }
}
