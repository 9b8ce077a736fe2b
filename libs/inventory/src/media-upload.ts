import type { FastifyRequest } from 'fastify';
import { pipeline, Transform } from 'node:stream';
import { InventoryError, InventoryErrorCode } from './inventory-error';
import type { MediaUpload } from './vehicle-media.service';

/**
 * The one file of a multipart upload (field `file`), as a stream that fails — rather than ends
 * short — when the file is larger than `maxBytes`, so storage never keeps a cut-off file.
 */
export async function uploadOf(request: FastifyRequest, maxBytes: number): Promise<MediaUpload> {
  if (!request.isMultipart()) {
    throw new InventoryError(
      InventoryErrorCode.NotMultipart,
      'file: send the file as multipart/form-data, in the field "file"',
    );
  }
  const part = await request.file({ limits: { fileSize: maxBytes } });
  if (!part || part.fieldname !== 'file') {
    part?.file.resume();
    throw new InventoryError(InventoryErrorCode.FileMissing, 'file: the multipart field "file" is missing');
  }
  const source = part.file;
  // busboy stops at the limit and ends the stream as if the file were complete (its 'limit' event
  // may fire before anyone listens): check before passing the end on, so storage never completes.
  const limited = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      done(null, chunk);
    },
    flush(done) {
      done(
        source.truncated
          ? new InventoryError(
              InventoryErrorCode.FileTooLarge,
              `file: larger than the ${maxBytes} bytes a medium may have`,
            )
          : null,
      );
    },
  });
  pipeline(source, limited, () => undefined);
  return { file: limited, fileName: part.filename || null };
}
