import { Transform } from 'node:stream';
import { InventoryError, InventoryErrorCode } from './inventory-error';

/** The media a vehicle may carry, recognised by their first bytes — never by what the client says. */
export const MEDIA_TYPES = [
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/heic',
  'application/pdf',
] as const;
export type MediaType = (typeof MEDIA_TYPES)[number];

/** Bytes needed to recognise every type below. */
export const MEDIA_SNIFF_BYTES = 16;

/** ISO-BMFF brands of HEIF images with HEVC coding (what phones write as `.heic`). */
const HEIC_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1']);

const startsWith = (bytes: Buffer, signature: readonly number[], at = 0) =>
  bytes.length >= at + signature.length && signature.every((byte, index) => bytes[at + index] === byte);
const ascii = (bytes: Buffer, from: number, to: number) => bytes.subarray(from, to).toString('latin1');

/** The type the file's first bytes prove, or null when they prove none of the accepted ones. */
export function mediaTypeOf(head: Buffer): MediaType | null {
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP') return 'image/webp';
  if (ascii(head, 4, 8) === 'ftyp' && HEIC_BRANDS.has(ascii(head, 8, 12))) return 'image/heic';
  if (ascii(head, 0, 5) === '%PDF-') return 'application/pdf';
  return null;
}

export function mediaKindOf(type: MediaType): 'photo' | 'document' {
  return type === 'application/pdf' ? 'document' : 'photo';
}

/** Passes the bytes on once their first ones prove an accepted type; otherwise fails the stream. */
export function contentTypeCheck(found: (type: MediaType) => void): Transform {
  let head: Buffer | null = Buffer.alloc(0);
  const decide = (stream: Transform): Error | null => {
    const type = mediaTypeOf(head!);
    if (!type) return unsupportedType();
    found(type);
    stream.push(head);
    head = null;
    return null;
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (head === null) return done(null, chunk);
      head = Buffer.concat([head, chunk]);
      done(head.length >= MEDIA_SNIFF_BYTES ? decide(this) : null);
    },
    flush(done) {
      done(head === null ? null : decide(this));
    },
  });
}

export function unsupportedType(): InventoryError {
  return new InventoryError(
    InventoryErrorCode.UnsupportedMediaType,
    'file: the content is not a JPEG, PNG, WebP, HEIC image or a PDF (whatever its name or Content-Type says)',
  );
}
