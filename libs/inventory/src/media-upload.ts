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
  const part = await request.file({ limits: { fileSize: maxBytes } }).catch((error: unknown) => {
    throw malformedOr(error);
  });
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
  // A body that ends or breaks inside the file (busboy's "Unexpected end of form") is the caller's
  // fault: fail the upload with a 400 before the pipeline passes busboy's plain Error on.
  // The whole body may have been parsed already, so the error may have happened before now.
  const fail = (error: Error) => limited.destroy(malformedOr(error));
  if (source.errored) fail(source.errored);
  else source.once('error', fail);
  pipeline(source, limited, () => undefined);
  return { file: limited, fileName: part.filename || null };
}

/**
 * `error` as the caller's 4xx: the plugin's own errors keep their status (they carry one), and
 * busboy's parse errors, which carry none, become a 400 naming the problem.
 */
function malformedOr(error: unknown): Error {
  if (error instanceof InventoryError) return error;
  const status = (error as { statusCode?: unknown }).statusCode;
  if (error instanceof Error && typeof status === 'number' && status < 500) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new InventoryError(
    InventoryErrorCode.MalformedMultipart,
    `file: the multipart body could not be read (${reason})`,
  );
}
