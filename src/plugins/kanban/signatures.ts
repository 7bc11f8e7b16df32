/** HMAC signatures as webhook senders compute them, compared in constant time. */
import crypto from 'node:crypto';

export function hmac(algorithm: 'sha1' | 'sha256', secret: string, data: Buffer | string, encoding: 'hex' | 'base64'): string {
  return crypto.createHmac(algorithm, secret).update(data).digest(encoding);
}

/** Constant-time string comparison; `timingSafeEqual` throws on unequal lengths, so those are checked first. */
export function safeEqual(actual: string | undefined, expected: string): boolean {
  if (actual === undefined) return false;
  const a = Buffer.from(actual, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

export function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
