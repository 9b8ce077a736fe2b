import { createValidationPipe, ValidationFailedException } from '@forecourt/core';
import { Transform } from 'class-transformer';
import { validate } from 'class-validator';
import { checkDigitOf, IsVin, normaliseVin, vinProblem } from './vin';

/*
 * Real VINs, copied from public test fixtures rather than made up (a VIN built with our own
 * check-digit code would make these tests circular):
 *  - [corgi]   cardog-ai/corgi, test/fixtures.ts ("VINs sourced from Cardog production database",
 *              decoded there against the NHTSA vPIC database);
 *  - [libvin]  h3/python-libvin, tests/__init__.py (each VIN cited there with the decoder page or
 *              manufacturer VIN guide it was checked against);
 *  - [vininfo] idlesign/vininfo, tests/test_module.py and tests/test_lada.py (1M8GDM9AXKP042788 is
 *              also in DoumanAsh/vin-info, tests/basic.rs).
 */
const NORTH_AMERICAN: ReadonlyArray<readonly [vin: string, make: string, vehicle: string]> = [
  ['1M8GDM9AXKP042788', 'Motor Coach Industries', 'coach, US [vininfo] (check digit X)'],
  ['1C4PJMMBXPD109289', 'Jeep', '2023 Cherokee, US [corgi] (check digit X)'],
  ['2C3CDYAGXDH825982', 'Dodge', '2013 Challenger, Canada [libvin] (check digit X)'],
  ['5N1AT2MVXLC807279', 'Nissan', '2020 Rogue, US [corgi] (check digit X)'],
  ['1FAHP3FN8AW139719', 'Ford', '2010 Focus, US [libvin]'],
  ['1G1YC2D47T5102754', 'Chevrolet', '2026 Corvette, US [corgi]'],
  ['2HNYD18975H033218', 'Acura', '2005 MDX, Canada [libvin]'],
  ['2LMHJ5AT9CB565906', 'Lincoln', '2012 MKT, Canada [libvin]'],
  ['2T3B1RFV0SC582226', 'Toyota', '2025 RAV4, Canada [corgi]'],
  ['3C3CFFCR9FT528063', 'Fiat', '2015 500, Mexico [libvin]'],
  ['3VWR17AU5KM502465', 'Volkswagen', '2019 Golf, Mexico [corgi]'],
  ['3KPF54AD7ME321714', 'Kia', '2021 Forte, Mexico [corgi]'],
  ['4S4GUHU63S3737318', 'Subaru', '2025 Crosstrek, US [corgi]'],
  ['4JGFD6BB8TB572566', 'Mercedes-Benz', '2026 GLE, US [corgi]'],
  ['5UXXW5C54F0791433', 'BMW', '2015 X4, US [libvin]'],
];

const ELSEWHERE: ReadonlyArray<readonly [vin: string, make: string, vehicle: string]> = [
  ['WVWJF7CD8TW190545', 'Volkswagen', '2026 Golf R, Germany [corgi]'],
  ['WBAVL1C5XFVY41004', 'BMW', '2015 X1, Germany [corgi]'],
  ['WBSWL9C54AP786013', 'BMW', '2010 M3 Convertible, Germany [libvin]'],
  ['WBA71DC010CH14720', 'BMW', 'Germany, model-year code 0 [vininfo]'],
  ['WP0AB2Y18LSA50759', 'Porsche', '2020 Taycan, Germany [corgi]'],
  ['SCFAD01A65G199359', 'Aston Martin', '2005 DB9, UK [libvin]'],
  ['YV1902FH5D1796335', 'Volvo', '2013 XC60, Sweden [libvin]'],
  ['VNKJTUD36FA838549', 'Toyota', '2015 Yaris, France [libvin]'],
  ['JH4CW2H53BC567925', 'Acura', '2011 TSX, Japan [libvin]'],
  ['JTHBW1GG7D2369737', 'Lexus', '2013 ES 300h, Japan [libvin]'],
  ['JTDBBRBE6LJ007243', 'Toyota', '2020 Corolla, Japan [corgi]'],
  ['KM8R5DGE3PU560806', 'Hyundai', '2023 Palisade, Korea [corgi]'],
  ['KMHRC8A33RU325703', 'Hyundai', '2024 Venue, Korea [corgi]'],
  ['KNDJT2A54D7883468', 'Kia', '2013 Soul, Korea [libvin]'],
  ['XTAGFK330JY144213', 'Lada', '2018 Vesta SW, Russia [vininfo] (position 9 is no check digit)'],
];

/** A valid North-American VIN to break in the refusal tests. */
const GOOD = '1M8GDM9AXKP042788';

function withCharAt(vin: string, index: number, char: string): string {
  return vin.slice(0, index) + char + vin.slice(index + 1);
}

describe('real VINs', () => {
  it.each(NORTH_AMERICAN)('accepts %s (%s: %s), check digit and all', (vin) => {
    expect(vinProblem(vin)).toBeNull();
    expect(checkDigitOf(vin)).toBe(vin[8]);
  });

  it.each(ELSEWHERE)('accepts %s (%s: %s)', (vin) => {
    expect(vinProblem(vin)).toBeNull();
  });

  it('does not require the check digit outside North America', () => {
    // The Lada's position 9 is not a check digit; were it North American it would be refused.
    const lada = 'XTAGFK330JY144213';
    expect(checkDigitOf(lada)).toBe('6');
    // Moving it to region 1 changes the sum too: X (7) → 1 (1) at weight 8 takes off 48 ≡ 4 (mod 11).
    expect(vinProblem(withCharAt(lada, 0, '1'))).toBe('check digit (position 9) should be 2, not 0');
  });

  it('has VINs from at least ten makes, and North-American ones with check digit X', () => {
    const makes = new Set([...NORTH_AMERICAN, ...ELSEWHERE].map(([, make]) => make));
    expect(makes.size).toBeGreaterThanOrEqual(10);
    expect(NORTH_AMERICAN.filter(([vin]) => vin[8] === 'X').length).toBeGreaterThan(0);
  });
});

describe('vinProblem refusals', () => {
  it('refuses a wrong check digit and says what it should be', () => {
    expect(vinProblem(withCharAt(GOOD, 8, '3'))).toBe('check digit (position 9) should be X, not 3');
    expect(vinProblem(withCharAt('1FAHP3FN8AW139719', 8, '5'))).toBe(
      'check digit (position 9) should be 8, not 5',
    );
  });

  it.each(['I', 'O', 'Q'])('refuses %s anywhere', (letter) => {
    for (let index = 0; index < 17; index++) {
      expect(vinProblem(withCharAt(GOOD, index, letter))).toBe('must not contain I, O or Q');
    }
  });

  it('refuses 16 and 18 characters, and the empty string', () => {
    expect(vinProblem(GOOD.slice(1))).toBe('must be 17 characters (got 16)');
    expect(vinProblem(`${GOOD}8`)).toBe('must be 17 characters (got 18)');
    expect(vinProblem('')).toBe('must be 17 characters (got 0)');
  });

  it('counts characters, not UTF-16 code units', () => {
    expect(vinProblem(`${GOOD.slice(1)}🚗`)).toBe(
      'may contain only letters A–Z (without I, O, Q) and digits',
    );
  });

  it.each([
    ['a dash', '1M8GDM9AX-P042788'],
    ['an inner space', '1M8GDM9AX P042788'],
    ['a dot', '1M8GDM9AXKP04278.'],
    ['an accented letter', 'ÄM8GDM9AXKP042788'],
    ['a lower-case letter', '1m8gdm9axkp042788'],
  ])('refuses %s', (_what, vin) => {
    expect(vin).toHaveLength(17);
    expect(vinProblem(vin)).toBe('may contain only letters A–Z (without I, O, Q) and digits');
  });
});

describe('normaliseVin', () => {
  it('trims and uppercases', () => {
    expect(normaliseVin('1m8gdm9axkp042788')).toBe(GOOD);
    expect(normaliseVin(' \t1m8gDM9axkp042788\n')).toBe(GOOD);
    expect(vinProblem(normaliseVin('  wvwjf7cd8tw190545 '))).toBeNull();
  });

  it('keeps inner spaces and dashes, so those VINs stay invalid', () => {
    expect(normaliseVin('1m8gdm9ax kp042788')).toBe('1M8GDM9AX KP042788');
    expect(vinProblem(normaliseVin('1M8-GDM9AXKP042788'))).toBe('must be 17 characters (got 18)');
  });
});

describe('checkDigitOf', () => {
  it('refuses anything that is not 17 allowed characters', () => {
    expect(() => checkDigitOf(GOOD.slice(1))).toThrow(RangeError);
    expect(() => checkDigitOf(withCharAt(GOOD, 3, 'I'))).toThrow(RangeError);
  });
});

/*
 * Properties, against an independent reference written straight from the published tables
 * (49 CFR 565.15, Tables IV and V), with a seeded generator so a failure can be replayed.
 */
const TRANSLITERATION: Readonly<Record<string, number>> = {
  A: 1, B: 2, C: 3, D: 4, E: 5, F: 6, G: 7, H: 8,
  J: 1, K: 2, L: 3, M: 4, N: 5, P: 7, R: 9,
  S: 2, T: 3, U: 4, V: 5, W: 6, X: 7, Y: 8, Z: 9,
  0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9,
}; // prettier-ignore
const POSITION_WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
const CHARSET = Object.keys(TRANSLITERATION);

function referenceCheckDigit(vin: string): string {
  const sum = [...vin].reduce(
    (total, char, index) => total + TRANSLITERATION[char]! * POSITION_WEIGHTS[index]!,
    0,
  );
  return '0123456789X'[sum % 11]!;
}

/** mulberry32: a tiny seeded PRNG. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('properties', () => {
  const random = seededRandom(20_250_917);
  const pick = (chars: readonly string[]): string => chars[Math.floor(random() * chars.length)]!;
  const pickOtherThan = (chars: readonly string[], not: string): string =>
    pick(chars.filter((c) => c !== not));

  function randomNorthAmericanVin(): string {
    const chars = [pick(['1', '2', '3', '4', '5'])];
    for (let index = 1; index < 17; index++) chars.push(pick(CHARSET));
    chars[8] = '0';
    return withCharAt(chars.join(''), 8, referenceCheckDigit(chars.join('')));
  }

  const vins = Array.from({ length: 1000 }, randomNorthAmericanVin);

  it('accepts 1,000 random North-American VINs with a correct check digit', () => {
    for (const vin of vins) {
      expect(checkDigitOf(vin)).toBe(vin[8]);
      expect(vinProblem(vin)).toBeNull();
    }
  });

  it('always catches a change to the check digit alone', () => {
    for (const vin of vins) {
      for (const char of CHARSET.filter((c) => c !== vin[8])) {
        expect(vinProblem(withCharAt(vin, 8, char))).toBe(
          `check digit (position 9) should be ${vin[8]}, not ${char}`,
        );
      }
    }
  });

  it('catches nearly every single substitution elsewhere, missing only equal transliterations', () => {
    let tried = 0;
    let caught = 0;
    for (const vin of vins) {
      for (let index = 0; index < 17; index++) {
        if (index === 8) continue;
        // Position 1 stays 1–5, so the VIN stays North-American and its check digit is still due.
        const from = vin[index]!;
        const to =
          index === 0 ? pickOtherThan(['1', '2', '3', '4', '5'], from) : pickOtherThan(CHARSET, from);
        const problem = vinProblem(withCharAt(vin, index, to));
        tried++;
        if (problem !== null) {
          caught++;
          expect(problem).toMatch(/^check digit \(position 9\) should be [0-9X], not [0-9X]$/);
        } else {
          // Every weight but position 9's is non-zero mod 11, so only an equal value can slip by.
          expect(TRANSLITERATION[to]).toBe(TRANSLITERATION[from]);
        }
      }
    }
    expect(tried).toBe(16_000);
    expect(caught / tried).toBeGreaterThanOrEqual(0.9);
  });

  it('does not check position 9 of VINs from outside North America', () => {
    const regions = CHARSET.filter((c) => !'12345'.includes(c));
    for (let n = 0; n < 1000; n++) {
      let vin = pick(regions);
      for (let index = 1; index < 17; index++) vin += pick(CHARSET);
      expect(vinProblem(vin)).toBeNull();
    }
  });
});

describe('IsVin', () => {
  class VehicleDto {
    @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? normaliseVin(value) : value))
    @IsVin()
    vin!: unknown;
  }

  class FleetDto {
    @IsVin({ each: true }) vins!: unknown;
  }

  class CustomMessageDto {
    @IsVin({ message: 'that is no VIN' }) vin!: unknown;
  }

  async function errorsOf(dto: object) {
    return (await validate(dto)).map(({ property, constraints }) => ({ property, constraints }));
  }

  function vehicle(vin: unknown): VehicleDto {
    return Object.assign(new VehicleDto(), { vin });
  }

  it('passes a valid VIN', async () => {
    expect(await errorsOf(vehicle(GOOD))).toEqual([]);
  });

  it.each([
    [GOOD.slice(1), 'vin must be 17 characters (got 16)'],
    [withCharAt(GOOD, 4, 'O'), 'vin must not contain I, O or Q'],
    [withCharAt(GOOD, 4, '#'), 'vin may contain only letters A–Z (without I, O, Q) and digits'],
    [withCharAt(GOOD, 8, '3'), 'vin check digit (position 9) should be X, not 3'],
    [17, 'vin must be a string'],
    [null, 'vin must be a string'],
  ])('refuses %p with the reason', async (vin, message) => {
    expect(await errorsOf(vehicle(vin))).toEqual([{ property: 'vin', constraints: { isVin: message } }]);
  });

  it('names the first bad item with each: true', async () => {
    const fleet = Object.assign(new FleetDto(), { vins: [GOOD, withCharAt(GOOD, 0, 'Q')] });
    expect(await errorsOf(fleet)).toEqual([
      { property: 'vins', constraints: { isVin: 'each value in vins must not contain I, O or Q' } },
    ]);
  });

  it('takes a custom message', async () => {
    const dto = Object.assign(new CustomMessageDto(), { vin: 'nope' });
    expect(await errorsOf(dto)).toEqual([{ property: 'vin', constraints: { isVin: 'that is no VIN' } }]);
  });

  it('becomes a field error naming vin through the application validation pipe', async () => {
    const pipe = createValidationPipe();
    const body = { vin: ' 1m8gdm9a3kp042788 ' };
    const failure: unknown = await pipe
      .transform(body, { type: 'body', metatype: VehicleDto })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ValidationFailedException);
    expect((failure as ValidationFailedException).fieldErrors).toEqual([
      { field: 'vin', rule: 'isVin', message: 'vin check digit (position 9) should be X, not 3' },
    ]);
    await expect(
      pipe.transform({ vin: ' 1m8gdm9axkp042788 ' }, { type: 'body', metatype: VehicleDto }),
    ).resolves.toEqual(Object.assign(new VehicleDto(), { vin: GOOD }));
  });
});
