import { X509Certificate } from 'node:crypto';

/** What a connection shows about one of its IdP signing certificates. */
export interface IdpCertificateInfo {
  subject: string;
  validFrom: string;
  validTo: string;
  /** SHA-256 fingerprint, as IdP admin consoles show it. */
  fingerprint: string;
  /** Expires within {@link EXPIRY_WARNING_DAYS} days: rotate it at the IdP and add the new one. */
  expiresSoon: boolean;
}

export const EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 86_400_000;

/** Why a certificate was refused; the message names the certificate by its position. */
export class IdpCertificateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdpCertificateError';
  }
}

/**
 * The certificates as PEM, each parsed and checked to be valid now: a malformed, expired or
 * not-yet-valid certificate is refused with a reason an admin can act on. Bare base64 (as IdP
 * metadata and some consoles give it) is accepted and wrapped.
 */
export function checkedCertificates(inputs: readonly string[], now = new Date()): string[] {
  return inputs.map((input, index) => {
    const pem = asPem(input);
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(pem);
    } catch {
      throw new IdpCertificateError(`idpCertificates[${index}] is not a PEM X.509 certificate`);
    }
    const validFrom = new Date(certificate.validFrom);
    const validTo = new Date(certificate.validTo);
    if (validTo <= now) {
      throw new IdpCertificateError(
        `idpCertificates[${index}] expired on ${validTo.toISOString()}: export the IdP's current signing certificate`,
      );
    }
    if (validFrom > now) {
      throw new IdpCertificateError(
        `idpCertificates[${index}] is not valid before ${validFrom.toISOString()}`,
      );
    }
    return certificate.toString().trim();
  });
}

/** Parses and is within its dates at `now` (false for anything that does not parse). */
export function isValidAt(pem: string, now = new Date()): boolean {
  try {
    const certificate = new X509Certificate(pem);
    return new Date(certificate.validFrom) <= now && now < new Date(certificate.validTo);
  } catch {
    return false;
  }
}

export function certificateInfo(pem: string, now = new Date()): IdpCertificateInfo {
  const certificate = new X509Certificate(pem);
  const validTo = new Date(certificate.validTo);
  return {
    subject: certificate.subject.replace(/\n/g, ', '),
    validFrom: new Date(certificate.validFrom).toISOString(),
    validTo: validTo.toISOString(),
    fingerprint: certificate.fingerprint256,
    expiresSoon: validTo.getTime() - now.getTime() < EXPIRY_WARNING_DAYS * DAY_MS,
  };
}

function asPem(input: string): string {
  const trimmed = input.trim();
  if (trimmed.startsWith('-----BEGIN')) return trimmed;
  const body = trimmed.replace(/\s+/g, '');
  return `-----BEGIN CERTIFICATE-----\n${body.replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----`;
}
