import { mediaKindOf, mediaTypeOf } from './media-type';

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(
    parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.from(part))),
  );

describe('mediaTypeOf', () => {
  it.each([
    ['image/jpeg', bytes([0xff, 0xd8, 0xff, 0xe0, 0, 0x10], 'JFIF')],
    ['image/png', bytes([0x89], 'PNG', [0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d], 'IHDR')],
    ['image/webp', bytes('RIFF', [0x24, 0, 0, 0], 'WEBPVP8 ')],
    ['image/heic', bytes([0, 0, 0, 0x18], 'ftypheic', [0, 0, 0, 0])],
    ['image/heic', bytes([0, 0, 0, 0x1c], 'ftypmif1', [0, 0, 0, 0])],
    ['application/pdf', bytes('%PDF-1.7\n%\xe2\xe3\xcf\xd3')],
  ])('recognises %s', (type, head) => {
    expect(mediaTypeOf(head)).toBe(type);
  });

  it.each([
    ['plain text', bytes('hello, this is not an image')],
    ['a GIF (not accepted)', bytes('GIF89a', [1, 0, 1, 0])],
    ['HTML posing as a JPEG', bytes('<html><script>')],
    ['an MP4 (ISO-BMFF, but not HEIF)', bytes([0, 0, 0, 0x18], 'ftypisom', [0, 0, 2, 0])],
    ['a RIFF that is not WebP (WAV)', bytes('RIFF', [0x24, 0, 0, 0], 'WAVEfmt ')],
    ['a truncated JPEG marker', bytes([0xff, 0xd8])],
    ['nothing', Buffer.alloc(0)],
  ])('refuses %s', (_name, head) => {
    expect(mediaTypeOf(head)).toBeNull();
  });

  it('files PDFs as documents and images as photos', () => {
    expect(mediaKindOf('application/pdf')).toBe('document');
    expect(mediaKindOf('image/heic')).toBe('photo');
  });
});
