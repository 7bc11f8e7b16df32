/**
 * Signature headers for the corpus: the honest one and every way of getting it wrong that a forger, a
 * truncating proxy or a sender on the wrong algorithm produces. Returns the headers to set (possibly none).
 */
import crypto from 'node:crypto';
import type { SignatureMode } from './types';

export interface SigningProvider {
  /** Header the provider reads the signature from. */
  header: string;
  /** A legacy header some senders also fill (GitHub's SHA-1 `X-Hub-Signature`). */
  legacyHeader?: string;
  secret: string;
}

const hmac = (algorithm: string, secret: string, data: Buffer, encoding: 'hex' | 'base64') =>
  crypto.createHmac(algorithm, secret).update(data).digest(encoding);

export function signatureHeaders(provider: SigningProvider, mode: SignatureMode, body: Buffer): Record<string, string> {
  const hex = hmac('sha256', provider.secret, body, 'hex');
  const value = signatureValue(mode, hex, provider.secret, body);
  if (value === null) return {};
  if (mode === 'legacy-header-only') return { [provider.legacyHeader ?? 'x-hub-signature']: value };
  return { [provider.header]: value };
}

function signatureValue(mode: SignatureMode, hex: string, secret: string, body: Buffer): string | null {
  switch (mode) {
    case 'valid': return `sha256=${hex}`;
    case 'none': return null;
    case 'empty': return '';
    case 'prefix-only': return 'sha256=';
    case 'zeros': return `sha256=${'0'.repeat(64)}`;
    case 'truncated': return `sha256=${hex.slice(0, 62)}`;
    case 'extended': return `sha256=${hex}00`;
    // One hex digit changed: same length, so only a real comparison catches it.
    case 'flipped': return `sha256=${hex.slice(0, -1)}${hex.endsWith('0') ? '1' : '0'}`;
    case 'uppercase': return `sha256=${hex.toUpperCase()}`;
    case 'bare-hex': return hex;
    case 'base64': return `sha256=${hmac('sha256', secret, body, 'base64')}`;
    case 'sha1':
    case 'legacy-header-only': return `sha1=${hmac('sha1', secret, body, 'hex')}`;
    case 'sha512': return `sha512=${hmac('sha512', secret, body, 'hex')}`;
    // A SHA-1 HMAC under the sha256= label, padded to the right length.
    case 'md5-length': return `sha256=${hmac('md5', secret, body, 'hex').padEnd(64, '0')}`;
    case 'other-secret': return `sha256=${hmac('sha256', `${secret}x`, body, 'hex')}`;
    case 'other-body': return `sha256=${hmac('sha256', secret, Buffer.concat([body, Buffer.from(' ')]), 'hex')}`;
    case 'empty-secret': return `sha256=${hmac('sha256', '', body, 'hex')}`;
    case 'leading-space': return ` sha256=${hex}`;
    case 'trailing-space': return `sha256=${hex} `;
    case 'doubled': return `sha256=${hex}, sha256=${hex}`;
    case 'wrong-prefix-case': return `SHA256=${hex}`;
    // fetch refuses non-Latin-1 header values, so this is the widest byte a header can carry.
    case 'non-ascii': return `sha256=${hex.slice(0, 63)}\u00e9`;
  }
}
