import { assertNever, DomainError } from '@forecourt/core';
import { buildMessage, ValidateBy, ValidationOptions } from 'class-validator';

/**
 * Payment card numbers (PANs) in free text. Forecourt never stores card data (it would put the
 * whole system in PCI DSS scope), so any free-text field holding something that looks like a card
 * number is refused. "Looks like" means 13–19 digits that pass the Luhn check; no message ever
 * repeats the digits.
 *
 * How text is read:
 *
 *  1. Digits are normalised. The text is put in NFKC, which turns compatibility forms into plain
 *     ones: full-width and mathematical digits into 0–9, and the no-break, figure and narrow
 *     no-break spaces that word processors and banking apps put between digit groups into an
 *     ordinary space. Every other decimal digit (`\p{Nd}`: Arabic-Indic, Persian, Devanagari, Thai,
 *     …) is then replaced by the ASCII digit of the same value.
 *  2. A *number* is a run of digits in which neighbouring digits may be separated by one space or
 *     one hyphen-minus (`4111 1111 1111 1111`, `4111-1111-1111-1111`, mixed too). Anything else
 *     ends it: two spaces, a dot, a comma, a slash, a tab, a line break, an en dash. A number is
 *     made of *groups*, the digits between its separators.
 *  3. A number of at most 19 digits is refused when some stretch of whole groups of it, 13–19
 *     digits long, passes Luhn: the whole number, or e.g. the card in `4111 1111 1111 1111 12/27`
 *     (the number read is `4111 1111 1111 1111 12`: a card followed by its expiry month).
 *  4. A number of more than 19 digits cannot itself be a card number, so every 13–19-digit
 *     stretch of it is checked, wherever it starts and ends, across separators: a card number
 *     glued to other digits (`12` + card + `34`) is still a card number.
 *
 * Why not every stretch of every number (as in 4)? Because that would refuse most ordinary
 * 14–19-digit numbers: a 16-digit number has ten stretches of 13–16 digits and each passes Luhn
 * with odds 1 in 10, so about 65% of random 16-digit numbers (and ~60% of those whose whole
 * fails Luhn) would be refused, where the rule above refuses exactly the 1 in 10 that pass Luhn
 * as a whole. The price is that a card number glued to a few other digits, making a number of
 * 14–19 digits in all (`7` + card), is found only when the whole happens to pass Luhn too (which
 * leading zeros always do).
 *
 * False positives, the cost of refusing rather than storing card data:
 *  - a lone 13–19-digit number that is no card number (a reference, a tracking or account
 *    number) passes Luhn, and is refused, 1 time in 10;
 *  - numbers written next to each other with single spaces are read as one (`2019 2020 2021
 *    2022` is one 16-digit number, refused 1 time in 10);
 *  - anything over 19 digits is refused almost always: about 97% of random 20-digit numbers and
 *    practically every longer one, e.g. long order or tracking numbers, two phone numbers
 *    written one after the other with a single space, and IBANs written in groups (the digits of
 *    `DE89 3704 0044 0532 0130 00` are one 20-digit number);
 *  - a string of zeros passes Luhn, so the placeholder `0000 0000 0000 0000` is refused, and so
 *    is any number holding 13 zeros in a row.
 * The user is told why and can write the number differently. Phone numbers of up to 12 digits
 * (most of them, e.g. `+91 98765 43210`; E.164 allows 15), dates, prices with thousands
 * separators and VINs (their letters break the digits) are never refused.
 *
 * This keeps card numbers out by accident (pasted or typed in a note), not by intent: a card
 * number written with dots or in words gets through, and no pattern can stop that.
 */

const MIN_DIGITS = 13;
const MAX_DIGITS = 19;

/** A number: digits, neighbours separated by at most one space or hyphen (after normalising). */
const NUMBER = /[0-9](?:[ -]?[0-9])*/g;
const SEPARATOR = /[ -]/;
const DECIMAL_DIGIT = /\p{Nd}/u;
const DECIMAL_DIGITS = /\p{Nd}/gu;

/** The Luhn sum's value of each digit when doubled: 2d, less 9 when that has two digits. */
const DOUBLED = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9] as const;

/**
 * The ASCII digit for any decimal digit. Unicode encodes each set of decimal digits as ten
 * consecutive code points from 0 to 9 (a stability guarantee), and some sets follow one another
 * (e.g. Myanmar Pao and Eastern Pwo Karen digits, U+116D0–U+116E3, which NFKC leaves alone), so a
 * digit's value is its distance from the start of its run of digits, modulo 10. No table to keep.
 */
function asciiDigit(char: string): string {
  if (char >= '0' && char <= '9') return char;
  const codePoint = char.codePointAt(0) ?? 0;
  let start = codePoint;
  while (DECIMAL_DIGIT.test(String.fromCodePoint(start - 1))) start--;
  return String((codePoint - start) % 10);
}

function normalised(text: string): string {
  return text.normalize('NFKC').replace(DECIMAL_DIGITS, asciiDigit);
}

/**
 * Whether a string of ASCII digits passes the Luhn (mod 10) check: from the right, every second
 * digit is doubled (9 taken off a two-digit result) and the sum must end in 0. False for the
 * empty string and for anything that is not only 0–9. Length is not checked.
 */
export function luhnValid(digits: string): boolean {
  if (!/^[0-9]+$/.test(digits)) return false;
  let sum = 0;
  for (let fromRight = 0; fromRight < digits.length; fromRight++) {
    const digit = digits.charCodeAt(digits.length - 1 - fromRight) - 48;
    sum += fromRight % 2 === 1 ? DOUBLED[digit]! : digit;
  }
  return sum % 10 === 0;
}

/** Rule 3: some stretch of whole groups, 13–19 digits in all, passes Luhn. */
function someGroupsPass(groups: readonly string[]): boolean {
  for (let first = 0; first < groups.length; first++) {
    let digits = '';
    for (let last = first; last < groups.length; last++) {
      digits += groups[last];
      if (digits.length > MAX_DIGITS) break;
      if (digits.length >= MIN_DIGITS && luhnValid(digits)) return true;
    }
  }
  return false;
}

/**
 * Rule 4: some 13–19-digit stretch passes Luhn. For each last digit the sum is built leftwards
 * once and read at every length from 13 to 19, so a number of n digits costs about 19n steps.
 */
function someStretchPasses(digits: string): boolean {
  for (let last = MIN_DIGITS - 1; last < digits.length; last++) {
    let sum = 0;
    for (let fromRight = 0; fromRight < MAX_DIGITS && fromRight <= last; fromRight++) {
      const digit = digits.charCodeAt(last - fromRight) - 48;
      sum += fromRight % 2 === 1 ? DOUBLED[digit]! : digit;
      if (fromRight >= MIN_DIGITS - 1 && sum % 10 === 0) return true;
    }
  }
  return false;
}

/**
 * Whether the text holds what may be a payment card number: 13–19 digits passing the Luhn
 * check, possibly separated by single spaces or hyphens, in any script's digits. See the notes
 * at the top of this file for exactly which digits are read together, and what refusing costs.
 */
export function findsCardNumber(text: string): boolean {
  for (const [number] of normalised(text).matchAll(NUMBER)) {
    const groups = number.split(SEPARATOR);
    const digits = groups.join('');
    if (digits.length < MIN_DIGITS) continue;
    if (digits.length > MAX_DIGITS ? someStretchPasses(digits) : someGroupsPass(groups)) return true;
  }
  return false;
}

const REASON = 'must not contain a payment card number (Forecourt never stores card data)';

/**
 * The string property must not hold a payment card number (see {@link findsCardNumber}), e.g.
 * "notes must not contain a payment card number (Forecourt never stores card data)". Anything
 * that is not a string passes: type checks belong to other decorators. With `each: true` every
 * item of an array or Set and every value (not key) of a Map is checked; a plain object used as a
 * free-form map is not iterated, so check its keys and values with {@link assertNoCardNumber}.
 */
export function NoCardNumber(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'noCardNumber',
      validator: {
        validate: (value: unknown) => typeof value !== 'string' || !findsCardNumber(value),
        defaultMessage: buildMessage(
          (eachPrefix, args) => `${eachPrefix}${args?.property ?? 'value'} ${REASON}`,
          options,
        ),
      },
    },
    options,
  );
}

export enum CardNumberErrorCode {
  CardNumber = 'leads.card_number',
}

/** Free text that holds a payment card number: 400, naming the field but never the digits. */
export class CardNumberError extends DomainError<CardNumberErrorCode> {
  constructor(readonly field: string) {
    super(CardNumberErrorCode.CardNumber, `${field}: ${REASON}`);
  }

  get status(): number {
    switch (this.code) {
      case CardNumberErrorCode.CardNumber:
        return 400;
      default:
        return assertNever(this.code);
    }
  }
}

/**
 * For values no DTO decorator sees (e.g. the values of a free-form map): throws a
 * {@link CardNumberError} naming `field` when `text` holds a payment card number; null and
 * undefined pass. `field` is repeated in the message, so it must be a name the server chose: a
 * key of a free-form map is user text like any other, so check it too (as a value, under the
 * map's name) before it goes into a field name.
 */
export function assertNoCardNumber(field: string, text: string | null | undefined): void {
  if (text !== null && text !== undefined && findsCardNumber(text)) throw new CardNumberError(field);
}
