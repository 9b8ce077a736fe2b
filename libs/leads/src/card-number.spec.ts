import { createValidationPipe, DomainError, toProblem, ValidationFailedException } from '@forecourt/core';
import { validate } from 'class-validator';
import fc from 'fast-check';
import {
  assertNoCardNumber,
  CardNumberError,
  CardNumberErrorCode,
  findsCardNumber,
  luhnValid,
  NoCardNumber,
} from './card-number';

/*
 * An independent Luhn reference, written the textbook way (double every second digit from the
 * right, add up the digits of every product), so the tests do not trust the code they test.
 */
function referenceLuhn(digits: string): boolean {
  const sum = [...digits]
    .reverse()
    .map((char, index) => (index % 2 === 1 ? 2 * Number(char) : Number(char)))
    .flatMap((value) => [...String(value)].map(Number))
    .reduce((total, digit) => total + digit, 0);
  return digits.length > 0 && sum % 10 === 0;
}

/** The digit that, appended to `body`, makes it pass the reference Luhn check. */
function referenceCheckDigit(body: string): string {
  const digit = '0123456789'.split('').find((candidate) => referenceLuhn(body + candidate));
  if (digit === undefined) throw new Error('no Luhn check digit: impossible');
  return digit;
}

/*
 * Published test card numbers of payment providers (Stripe, PayPal, Braintree, Worldpay). Each is
 * checked against the reference first (see "the test numbers"), so a mistyped one fails loudly
 * instead of silently testing nothing.
 */
const CARDS: ReadonlyArray<readonly [brand: string, pan: string]> = [
  ['Visa', '4111111111111111'],
  ['Visa', '4012888888881881'],
  ['Visa, 13 digits', '4222222222222'],
  ['Mastercard', '5555555555554444'],
  ['Mastercard, 2-series', '2223003122003222'],
  ['American Express, 15 digits', '378282246310005'],
  ['Discover', '6011111111111117'],
  ['Diners Club, 14 digits', '30569309025904'],
  ['JCB', '3530111333300000'],
  ['Maestro', '6759649826438453'],
  ['UnionPay', '6200000000000005'],
  ['Maestro range, 19 digits', '6304000000000000000'],
];

const REASON = 'must not contain a payment card number (Forecourt never stores card data)';

function inFours(digits: string, separator: string): string {
  return digits.replace(/(\d{4})(?=\d)/g, `$1${separator}`);
}

/** The number with the digit at `index` replaced by the next one (9 becomes 0). */
function withDigitChanged(digits: string, index: number): string {
  const changed = String((Number(digits[index]) + 1) % 10);
  return digits.slice(0, index) + changed + digits.slice(index + 1);
}

/** One decimal digit of another script, given the code point of its zero. */
function inScript(digits: string, zero: number): string {
  return [...digits].map((digit) => String.fromCodePoint(zero + Number(digit))).join('');
}

describe('the test numbers', () => {
  it.each(CARDS)('%s %s passes the reference Luhn check and has 13–19 digits', (_brand, pan) => {
    expect(referenceLuhn(pan)).toBe(true);
    expect(pan).toMatch(/^[0-9]{13,19}$/);
  });

  it('cover 13, 14, 15, 16 and 19 digits and every digit 0–9', () => {
    expect(new Set(CARDS.map(([, pan]) => pan.length))).toEqual(new Set([13, 14, 15, 16, 19]));
    expect(new Set(CARDS.flatMap(([, pan]) => [...pan])).size).toBe(10);
  });
});

describe('luhnValid', () => {
  it.each(CARDS)('accepts %s %s', (_brand, pan) => {
    expect(luhnValid(pan)).toBe(true);
  });

  it.each(CARDS)('refuses %s %s with any one digit changed', (_brand, pan) => {
    for (let index = 0; index < pan.length; index++) {
      expect(luhnValid(withDigitChanged(pan, index))).toBe(false);
    }
  });

  it('refuses the empty string and anything but ASCII digits', () => {
    expect(luhnValid('')).toBe(false);
    expect(luhnValid('4111 1111 1111 1111')).toBe(false);
    expect(luhnValid('4111-1111-1111-1111')).toBe(false);
    expect(luhnValid(inScript('4111111111111111', 0x0660))).toBe(false);
  });

  it('does not look at the length, and leading zeros change nothing', () => {
    expect(luhnValid('0')).toBe(true);
    expect(luhnValid('18')).toBe(true);
    expect(luhnValid('0004111111111111111')).toBe(true);
  });

  it('agrees with the reference on random digit strings', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{1,40}$/), (digits) => {
        expect(luhnValid(digits)).toBe(referenceLuhn(digits));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('findsCardNumber: card numbers are found', () => {
  it.each(CARDS)('%s %s, plain', (_brand, pan) => {
    expect(findsCardNumber(pan)).toBe(true);
  });

  it.each(CARDS)('%s %s, spaced in fours', (_brand, pan) => {
    expect(findsCardNumber(inFours(pan, ' '))).toBe(true);
  });

  it.each(CARDS)('%s %s, dashed in fours', (_brand, pan) => {
    expect(findsCardNumber(inFours(pan, '-'))).toBe(true);
  });

  it.each(CARDS)('%s %s, in a sentence', (_brand, pan) => {
    expect(findsCardNumber(`call me, card ${inFours(pan, ' ')} thanks`)).toBe(true);
    expect(findsCardNumber(`Card:${pan}.`)).toBe(true);
    expect(findsCardNumber(`first line\npaid with ${inFours(pan, '-')}\nlast line`)).toBe(true);
  });

  it.each(CARDS)('%s %s, glued to other digits before and after', (_brand, pan) => {
    // 9 more digits make at least 22: too long for a card, so every stretch is checked.
    expect(findsCardNumber(`order 98765${pan}4321`)).toBe(true);
    // Leading zeros do not change the Luhn sum, so the whole passes at any length.
    expect(findsCardNumber(`000${pan}`)).toBe(true);
    expect(findsCardNumber(`ref${pan}x`)).toBe(true);
  });

  it.each(CARDS)('%s %s, followed by expiry and security code, after a phone number', (_brand, pan) => {
    expect(findsCardNumber(`${inFours(pan, ' ')} 12/27 123`)).toBe(true);
    expect(findsCardNumber(`${pan} 1227 123`)).toBe(true);
    expect(findsCardNumber(`${inFours(pan, ' ')} 1227`)).toBe(true);
    expect(findsCardNumber(`+1 415 555 2671 ${inFours(pan, ' ')}`)).toBe(true);
  });

  it('the ways the schemes print them, and mixed separators', () => {
    expect(findsCardNumber('3782 822463 10005')).toBe(true); // Amex, 4-6-5
    expect(findsCardNumber('3056 930902 5904')).toBe(true); // Diners, 4-6-4
    expect(findsCardNumber('4111 1111-1111 1111')).toBe(true);
    expect(findsCardNumber('4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1')).toBe(true);
  });

  it('a number whose whole fails Luhn but whose whole groups hold 13+ digits that pass', () => {
    // "0000 0000 0000 000" is 15 digits passing Luhn (any string of zeros does).
    expect(luhnValid('6305000000000000000')).toBe(false);
    expect(findsCardNumber('6305 0000 0000 0000 000')).toBe(true);
    expect(findsCardNumber('0000 0000 0000 0000')).toBe(true);
  });
});

describe('findsCardNumber: other text is accepted', () => {
  it('a 16-digit number that fails Luhn: accepted', () => {
    expect(findsCardNumber('4111111111111112')).toBe(false);
    expect(findsCardNumber('4111 1111 1111 1112')).toBe(false);
    expect(findsCardNumber('4111-1111-1111-1112')).toBe(false);
    expect(findsCardNumber('my number is 4111 1111 1111 1112, thanks')).toBe(false);
  });

  it.each(CARDS)('%s %s with its check digit or a middle digit changed', (_brand, pan) => {
    for (const broken of [withDigitChanged(pan, pan.length - 1), withDigitChanged(pan, 6)]) {
      expect(findsCardNumber(broken)).toBe(false);
      expect(findsCardNumber(`call me, card ${broken} thanks`)).toBe(false);
      // In fours, up to 16 digits, the only stretch of whole groups of 13+ digits is the whole.
      if (pan.length <= 16) {
        expect(findsCardNumber(inFours(broken, ' '))).toBe(false);
        expect(findsCardNumber(inFours(broken, '-'))).toBe(false);
      }
    }
  });

  it.each([
    ['a US phone number', 'call +1 415 555 2671 after 5'],
    ['a US phone number with brackets', '(415) 555-2671'],
    ['an Indian mobile number', '+91 98765 43210'],
    ['a UK phone number', '+44 20 7946 0958'],
    ['two phone numbers in a list', '+1 415 555 2671, +1 415 555 2672'],
    ['an ISO date and time', 'test drive 2024-01-15 10:30'],
    ['a date range', 'away 2024-01-15 to 2024-02-15'],
    ['a European date', '15/01/2024'],
    ['a VIN', '1HGCM82633A004352'],
    ['a price with thousands separators', 'offer 1,500,000 or $1,500,000.00'],
    ['a European price', '€ 1.234.567,89'],
    ['a 12-digit number passing Luhn', `account ${'41111111111'}${referenceCheckDigit('41111111111')}`],
    ['a postcode and house number', '221B Baker Street, London NW1 6XE'],
    ['the empty string', ''],
    ['only spaces', '   '],
    ['words', 'Customer wants the red one, paying cash.'],
  ])('%s: %p', (_what, text) => {
    expect(findsCardNumber(text)).toBe(false);
  });

  // Documented limit: the number is read across single spaces and hyphens only. These all hold
  // 4111 1111 1111 1111 but are accepted; the check stops accidents, not intent.
  it.each([
    ['a dot after a group', '4111 1111. 1111 1111'],
    ['dots', '4111.1111.1111.1111'],
    ['commas', '4111,1111,1111,1111'],
    ['slashes', '4111/1111/1111/1111'],
    ['underscores', '4111_1111_1111_1111'],
    ['two spaces', '4111  1111  1111  1111'],
    ['spaced hyphens', '4111 - 1111 - 1111 - 1111'],
    ['en dashes', '4111–1111–1111–1111'],
    ['tabs', '4111\t1111\t1111\t1111'],
    ['line breaks', '4111\n1111\n1111\n1111'],
  ])('separators that end a number: %s', (_what, text) => {
    expect(findsCardNumber(text)).toBe(false);
  });
});

describe('findsCardNumber: digits of other scripts and Unicode spaces', () => {
  const SCRIPTS: ReadonlyArray<readonly [script: string, zero: number]> = [
    ['Arabic-Indic', 0x0660],
    ['Extended Arabic-Indic (Persian, Urdu)', 0x06f0],
    ['Devanagari', 0x0966],
    ['Bengali', 0x09e6],
    ['Thai', 0x0e50],
    ['full-width', 0xff10],
    ['mathematical bold', 0x1d7ce],
    ['mathematical monospace (fifth set in a run of five)', 0x1d7f6],
    ['Myanmar Eastern Pwo Karen (second set in a run of two, unchanged by NFKC)', 0x116da],
    ['Adlam', 0x1e950],
  ];

  it.each(SCRIPTS)('reads %s digits by their value', (_script, zero) => {
    for (const [, pan] of CARDS) {
      expect(findsCardNumber(inScript(pan, zero))).toBe(true);
      expect(findsCardNumber(`card ${inFours(inScript(pan, zero), ' ')} ok`)).toBe(true);
      expect(findsCardNumber(inScript(withDigitChanged(pan, pan.length - 1), zero))).toBe(false);
    }
  });

  it('reads a number mixing scripts as one', () => {
    const mixed = inScript('4111', 0x0660) + inScript('11111111', 0xff10) + '1111';
    expect(findsCardNumber(mixed)).toBe(true);
  });

  it.each([
    ['no-break space', '\u00a0'],
    ['narrow no-break space', '\u202f'],
    ['figure space', '\u2007'],
    ['ideographic space', '\u3000'],
    ['full-width hyphen-minus', '\uff0d'],
  ])('takes a %s between groups as a separator', (_what, separator) => {
    expect(findsCardNumber(inFours('4111111111111111', separator))).toBe(true);
    expect(findsCardNumber(inFours('4111111111111112', separator))).toBe(false);
  });
});

/*
 * Properties. Surrounding text is any Unicode without decimal digits (also after NFKC, which
 * would turn e.g. "①" or "㉑" into digits).
 */
const digitFree = fc
  .string({ unit: 'binary', maxLength: 12 })
  .filter((text) => !/\p{Nd}/u.test(text.normalize('NFKC')));

/** Text between two numbers that keeps them apart: not one space or hyphen, even after NFKC. */
const breaker = digitFree.filter((text) => {
  const normalised = text.normalize('NFKC');
  return normalised.length > 0 && normalised !== ' ' && normalised !== '-';
});

/** Joins digits with nothing, one space or one hyphen between each pair, chosen at random. */
function withSeparators(digits: string): fc.Arbitrary<string> {
  return fc
    .array(fc.constantFrom('', ' ', '-'), { minLength: digits.length, maxLength: digits.length })
    .map((separators) => [...digits].map((digit, i) => (i === 0 ? digit : separators[i]! + digit)).join(''));
}

const luhnValidCard = fc.stringMatching(/^[0-9]{12,18}$/).map((body) => body + referenceCheckDigit(body));

const luhnFailingNumber = fc.stringMatching(/^[0-9]{13,19}$/).filter((digits) => !referenceLuhn(digits));

describe('findsCardNumber: properties', () => {
  it('finds every Luhn-valid 13–19-digit number, whatever single separators it has, in any text', () => {
    fc.assert(
      fc.property(luhnValidCard.chain(withSeparators), digitFree, digitFree, (card, before, after) => {
        expect(findsCardNumber(`${before}${card}${after}`)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('accepts every 13–19-digit number that fails Luhn, alone in any text', () => {
    fc.assert(
      fc.property(luhnFailingNumber, digitFree, digitFree, (digits, before, after) => {
        expect(findsCardNumber(`${before}${digits}${after}`)).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('never finds anything in text whose numbers have at most 12 digits, in any script', () => {
    const scriptZeros = [0x30, 0x0660, 0x06f0, 0x0966, 0xff10, 0x1d7ce];
    const shortNumber = fc
      .stringMatching(/^[0-9]{0,12}$/)
      .chain(withSeparators)
      .chain((digits) =>
        fc
          .constantFrom(...scriptZeros)
          .map((zero) => digits.replace(/[0-9]/g, (digit) => inScript(digit, zero))),
      );
    fc.assert(
      fc.property(fc.array(fc.tuple(shortNumber, breaker), { maxLength: 10 }), (parts) => {
        const text = parts.map(([number, between]) => number + between).join('');
        expect(findsCardNumber(text)).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  /*
   * The rule, restated as slowly and plainly as possible: split into numbers (digits joined by
   * one space or hyphen) by walking the text; a number of at most 19 digits is a card number when
   * some stretch of whole groups of 13–19 digits passes Luhn, a longer one when any 13–19-digit
   * stretch does.
   */
  function referenceFinds(text: string): boolean {
    const numbers: string[][] = [];
    let groups: string[] = [];
    const isDigit = (char: string | undefined) => char !== undefined && char >= '0' && char <= '9';
    for (let i = 0; i < text.length; i++) {
      const char = text[i]!;
      if (isDigit(char)) {
        if (groups.length === 0) groups.push('');
        groups[groups.length - 1] += char;
      } else if ((char === ' ' || char === '-') && isDigit(text[i - 1]) && isDigit(text[i + 1])) {
        groups.push('');
      } else if (groups.length > 0) {
        numbers.push(groups);
        groups = [];
      }
    }
    if (groups.length > 0) numbers.push(groups);

    return numbers.some((number) => {
      const digits = number.join('');
      const candidates: string[] = [];
      if (digits.length > 19) {
        for (let start = 0; start < digits.length; start++) {
          for (let length = 13; length <= 19 && start + length <= digits.length; length++) {
            candidates.push(digits.slice(start, start + length));
          }
        }
      } else {
        for (let first = 0; first < number.length; first++) {
          for (let last = first; last < number.length; last++) {
            candidates.push(number.slice(first, last + 1).join(''));
          }
        }
      }
      return candidates.some(
        (candidate) => candidate.length >= 13 && candidate.length <= 19 && referenceLuhn(candidate),
      );
    });
  }

  it('agrees with a plain restatement of the rule on random strings of digits, separators and others', () => {
    // Mostly digits, so numbers of every length from 0 to beyond 19 digits come up.
    const textOfNumbers = fc
      .array(fc.constantFrom(...'0123456789'.repeat(4), ' ', ' ', '-', '-', 'x', '.'), {
        maxLength: 40,
        size: 'max',
      })
      .map((chars) => chars.join(''));
    let found = 0;
    fc.assert(
      fc.property(textOfNumbers, (text) => {
        const expected = referenceFinds(text);
        if (expected) found++;
        expect(findsCardNumber(text)).toBe(expected);
      }),
      { numRuns: 3000 },
    );
    // The generator must exercise both answers.
    expect(found).toBeGreaterThan(100);
    expect(found).toBeLessThan(2900);
  });

  it('agrees with it on long runs of digits too (every stretch checked)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{20,80}$/), (digits) => {
        expect(findsCardNumber(digits)).toBe(referenceFinds(digits));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('NoCardNumber', () => {
  class NoteDto {
    @NoCardNumber() notes!: unknown;
  }

  class TagsDto {
    @NoCardNumber({ each: true }) tags!: unknown;
  }

  class CustomMessageDto {
    @NoCardNumber({ message: 'no card numbers here' }) notes!: unknown;
  }

  async function errorsOf(dto: object) {
    return (await validate(dto)).map(({ property, constraints }) => ({ property, constraints }));
  }

  it('passes free text without a card number', async () => {
    expect(await errorsOf(Object.assign(new NoteDto(), { notes: 'call +91 98765 43210' }))).toEqual([]);
  });

  it('refuses a card number, naming the property and why', async () => {
    const dto = Object.assign(new NoteDto(), { notes: 'card 4111 1111 1111 1111 exp 12/27' });
    expect(await errorsOf(dto)).toEqual([
      { property: 'notes', constraints: { noCardNumber: `notes ${REASON}` } },
    ]);
  });

  it.each([17, null, undefined, { card: '4111111111111111' }, ['4111111111111111']])(
    'passes the non-string %p (other decorators check types)',
    async (notes) => {
      expect(await errorsOf(Object.assign(new NoteDto(), { notes }))).toEqual([]);
    },
  );

  it('checks every item of an array, Set or Map with each: true', async () => {
    const refused = [{ property: 'tags', constraints: { noCardNumber: `each value in tags ${REASON}` } }];
    const card = '5555-5555-5555-4444';
    expect(await errorsOf(Object.assign(new TagsDto(), { tags: ['vip', card] }))).toEqual(refused);
    expect(await errorsOf(Object.assign(new TagsDto(), { tags: new Set(['vip', card]) }))).toEqual(refused);
    expect(await errorsOf(Object.assign(new TagsDto(), { tags: new Map([['note', card]]) }))).toEqual(
      refused,
    );
    expect(await errorsOf(Object.assign(new TagsDto(), { tags: ['vip', 'trade-in', 7] }))).toEqual([]);
  });

  it('takes a custom message', async () => {
    const dto = Object.assign(new CustomMessageDto(), { notes: '4111111111111111' });
    expect(await errorsOf(dto)).toEqual([
      { property: 'notes', constraints: { noCardNumber: 'no card numbers here' } },
    ]);
  });

  it('becomes a field error through the application validation pipe, without the digits', async () => {
    const failure: unknown = await createValidationPipe()
      .transform({ notes: 'pay with 4111111111111111' }, { type: 'body', metatype: NoteDto })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ValidationFailedException);
    const { fieldErrors } = failure as ValidationFailedException;
    expect(fieldErrors).toEqual([{ field: 'notes', rule: 'noCardNumber', message: `notes ${REASON}` }]);
    expect(JSON.stringify(fieldErrors)).not.toMatch(/\d/);
  });
});

describe('assertNoCardNumber', () => {
  it('passes text without a card number, null and undefined', () => {
    expect(() => assertNoCardNumber('customFields.colour', 'red, 2019 model')).not.toThrow();
    expect(() => assertNoCardNumber('customFields.colour', '')).not.toThrow();
    expect(() => assertNoCardNumber('customFields.colour', null)).not.toThrow();
    expect(() => assertNoCardNumber('customFields.colour', undefined)).not.toThrow();
  });

  it.each(CARDS)('throws a 400 CardNumberError without the digits for %s %s', (_brand, pan) => {
    let thrown: unknown;
    try {
      assertNoCardNumber('customFields.payment', `paid by ${inFours(pan, ' ')}`);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CardNumberError);
    expect(thrown).toBeInstanceOf(DomainError);
    const error = thrown as CardNumberError;
    expect(error.status).toBe(400);
    expect(error.code).toBe(CardNumberErrorCode.CardNumber);
    expect(error.code).toBe('leads.card_number');
    expect(error.field).toBe('customFields.payment');
    expect(error.name).toBe('CardNumberError');
    expect(error.message).toBe(`customFields.payment: ${REASON}`);
    expect(error.message).not.toMatch(/\d/);
  });

  it('becomes a 400 problem that does not repeat the digits', () => {
    let thrown: unknown;
    try {
      assertNoCardNumber('notes', '4111-1111-1111-1111');
    } catch (error) {
      thrown = error;
    }
    const problem = toProblem(thrown, 'request-1');
    expect(problem).toMatchObject({ status: 400, detail: `notes: ${REASON}` });
    expect(problem.type).toMatch(/leads-card-number$/);
    expect(JSON.stringify(problem)).not.toContain('4111');
  });
});
