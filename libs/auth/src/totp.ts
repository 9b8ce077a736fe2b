import { generateSecret, generateURI, verifySync } from 'otplib';

/** One step either side: a phone clock a little off still works. */
const TOLERANCE_SECONDS = 30;

export function newTotpSecret(): string {
  return generateSecret();
}

export function totpUri(secret: string, account: string): string {
  return generateURI({ issuer: 'Forecourt', label: account, secret });
}

/**
 * The time step a valid code belongs to, or null. A step at or before `lastUsedStep` is refused
 * (otplib's replay guard), so each code — and any earlier one — works once only.
 */
export function acceptedTotpStep(
  secret: string,
  code: string,
  lastUsedStep: number | null,
  now = Date.now(),
): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  try {
    const result = verifySync({
      secret,
      token: code,
      epoch: Math.floor(now / 1000),
      epochTolerance: TOLERANCE_SECONDS,
      ...(lastUsedStep !== null ? { afterTimeStep: lastUsedStep } : {}),
    });
    return result.valid ? (result as { timeStep: number }).timeStep : null;
  } catch {
    return null; // e.g. a last step beyond the window: refuse rather than guess
  }
}
