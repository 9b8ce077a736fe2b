import { generateSync } from 'otplib';
import { acceptedTotpStep, newTotpSecret, totpUri } from './totp';

describe('TOTP', () => {
  const secret = newTotpSecret();
  const now = Date.now();
  const codeAt = (ms: number) => generateSync({ secret, epoch: Math.floor(ms / 1000) });

  it('accepts the current code and names its step', () => {
    expect(acceptedTotpStep(secret, codeAt(now), null, now)).toBe(Math.floor(now / 30_000));
  });

  it('refuses a code reused after its step was recorded, and an earlier one', () => {
    const step = acceptedTotpStep(secret, codeAt(now), null, now)!;
    expect(acceptedTotpStep(secret, codeAt(now), step, now)).toBeNull();
    expect(acceptedTotpStep(secret, codeAt(now - 30_000), step, now)).toBeNull();
  });

  it('refuses a wrong code, a stale code and anything that is not six digits', () => {
    const wrong = String((Number(codeAt(now)) + 1) % 1_000_000).padStart(6, '0');
    expect(acceptedTotpStep(secret, wrong, null, now)).toBeNull();
    expect(acceptedTotpStep(secret, codeAt(now - 5 * 60_000), null, now)).toBeNull();
    expect(acceptedTotpStep(secret, '12345', null, now)).toBeNull();
    expect(acceptedTotpStep(secret, "1' or 1=1", null, now)).toBeNull();
  });

  it('builds an otpauth URL an authenticator app reads', () => {
    expect(totpUri(secret, 'jane@example.test')).toMatch(
      /^otpauth:\/\/totp\/Forecourt:jane%40example\.test\?secret=/,
    );
  });
});
