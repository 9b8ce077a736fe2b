import { buildMessage, ValidateBy, ValidationOptions } from 'class-validator';

/**
 * Vehicle identification numbers (ISO 3779; in the United States 49 CFR part 565).
 *
 * A VIN is 17 characters from the digits and the capital letters without I, O and Q. Position 9
 * is a check digit computed over the other sixteen. The check digit is mandatory for vehicles
 * made for North America, so we verify it only for VINs whose first character (the world
 * manufacturer region) is 1–5: United States 1, 4 and 5, Canada 2, Mexico 3. Elsewhere it is
 * optional, and many VINs made for other markets carry a plain letter or digit there (e.g. the
 * Lada `XTAGFK330JY144213`, whose position 9 computes to 6 but holds 0), so any other VIN is
 * checked for length and characters only.
 *
 * Note that many Japanese, Korean and European VINs of vehicles built for the North American
 * market (`JH4…`, `KM8…`, `WBA…`) do carry a valid check digit, because 49 CFR 565 requires it of
 * every vehicle sold in the US; we still do not require it for them, since the same prefixes are
 * used for other markets and nothing in the VIN itself says which market a vehicle was built for.
 */

export const VIN_LENGTH = 17;

const ALLOWED = /^[A-HJ-NPR-Z0-9]*$/;

/** Transliteration of letters to numbers, 49 CFR 565.15 Table IV: A–H 1–8, J–N 1–5, P 7, R 9, S–Z 2–9. */
const LETTER_VALUES: ReadonlyMap<string, number> = new Map(
  (
    [
      ['ABCDEFGH', 1],
      ['JKLMN', 1],
      ['P', 7],
      ['R', 9],
      ['STUVWXYZ', 2],
    ] as const
  ).flatMap(([letters, first]) => [...letters].map((letter, i) => [letter, first + i] as const)),
);

/** Position weights, 49 CFR 565.15 Table V (position 9, the check digit itself, weighs 0). */
const WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2] as const;

/** Regions whose VINs must carry a valid check digit: United States 1, 4, 5; Canada 2; Mexico 3. */
const CHECKED_REGIONS = new Set(['1', '2', '3', '4', '5']);

/** Trims and uppercases. Inner spaces and dashes are kept, so such a VIN is then refused. */
export function normaliseVin(raw: string): string {
  return raw.trim().toUpperCase();
}

function valueOf(char: string): number {
  if (char >= '0' && char <= '9') return char.charCodeAt(0) - 48;
  const value = LETTER_VALUES.get(char);
  if (value === undefined) throw new RangeError('A VIN may contain only A–Z (without I, O, Q) and 0–9');
  return value;
}

/**
 * The check digit (0–9 or X) that position 9 of a 17-character VIN should hold. Throws a
 * RangeError for anything that is not 17 allowed characters.
 */
export function checkDigitOf(vin: string): string {
  if (vin.length !== VIN_LENGTH) throw new RangeError(`A VIN has ${VIN_LENGTH} characters`);
  let sum = 0;
  for (let i = 0; i < VIN_LENGTH; i++) sum += valueOf(vin.charAt(i)) * WEIGHTS[i]!;
  const remainder = sum % 11;
  return remainder === 10 ? 'X' : String(remainder);
}

/**
 * For an already normalised VIN: null when it is valid, else a short sentence saying what is
 * wrong (to follow a property name, e.g. "vin must be 17 characters (got 16)").
 */
export function vinProblem(vin: string): string | null {
  const length = [...vin].length;
  if (length !== VIN_LENGTH) return `must be ${VIN_LENGTH} characters (got ${length})`;
  if (/[IOQ]/.test(vin)) return 'must not contain I, O or Q';
  if (!ALLOWED.test(vin)) return 'may contain only letters A–Z (without I, O, Q) and digits';
  if (CHECKED_REGIONS.has(vin.charAt(0))) {
    const expected = checkDigitOf(vin);
    const actual = vin.charAt(8);
    if (actual !== expected) return `check digit (position 9) should be ${expected}, not ${actual}`;
  }
  return null;
}

function problemOf(value: unknown): string | null {
  return typeof value === 'string' ? vinProblem(value) : 'must be a string';
}

/** With `each: true` class-validator hands us the whole collection: report its first bad item. */
function firstProblemOf(value: unknown, each: boolean): string {
  if (each && (Array.isArray(value) || value instanceof Set || value instanceof Map)) {
    for (const item of value.values() as Iterable<unknown>) {
      const problem = problemOf(item);
      if (problem !== null) return problem;
    }
  }
  return problemOf(value) ?? 'must be a valid VIN';
}

/**
 * The property must be a string holding a valid VIN (see {@link vinProblem}). It is not
 * normalised here: put a `@Transform` that trims and uppercases (e.g. with {@link normaliseVin})
 * before it. The message names the property and the reason, e.g. "vin must not contain I, O or Q".
 */
export function IsVin(options?: ValidationOptions): PropertyDecorator {
  const each = options?.each === true;
  return ValidateBy(
    {
      name: 'isVin',
      validator: {
        validate: (value: unknown) => problemOf(value) === null,
        defaultMessage: buildMessage(
          (eachPrefix, args) =>
            `${eachPrefix}${args?.property ?? 'vin'} ${firstProblemOf(args?.value, each)}`,
          options,
        ),
      },
    },
    options,
  );
}
