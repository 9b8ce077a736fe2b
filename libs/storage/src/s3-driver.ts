import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { S3Settings } from '@forecourt/config';
import { checkedKey, type ObjectDriver } from './object-driver';

/** How to talk to the bucket, beyond where it is and who we are (`S3_FORCE_PATH_STYLE`, `S3_CHECKSUMS`). */
export interface S3DriverOptions {
  /** `endpoint/bucket/key` rather than `bucket.endpoint/key`; custom endpoints such as MinIO need it. */
  forcePathStyle: boolean;
  /**
   * `when_supported` (the SDK's default): every request and response carries a CRC checksum.
   * `when_required`: only where S3 demands one, for S3-compatible servers that mishandle them.
   */
  checksums: 'when_supported' | 'when_required';
}

/** S3's smallest part: what an upload holds in memory per part, so the smaller the flatter. */
const PART_SIZE = 5 * 1024 * 1024;
/** Parts in flight per upload: bounds the memory of one upload to about 3 × PART_SIZE (one filling). */
const PARTS_IN_FLIGHT = 1;
const REACHABLE_TIMEOUT_MS = 2_000;

function isNoSuchKey(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  // Some S3-compatible servers answer a bare 404 without the NoSuchKey code; a missing bucket is
  // a misconfiguration, not a missing object.
  return (
    error.name === 'NoSuchKey' || (error.$metadata.httpStatusCode === 404 && error.name !== 'NoSuchBucket')
  );
}

/** Objects in one S3-compatible bucket (AWS S3, Cloudflare R2, MinIO, …), keys used as they are. */
export class S3ObjectDriver implements ObjectDriver {
  readonly kind = 's3' as const;
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor(settings: S3Settings, options: S3DriverOptions) {
    const checksums = options.checksums === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
    this.bucket = settings.bucket;
    this.client = new S3Client({
      endpoint: settings.endpoint,
      region: settings.region,
      credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
      forcePathStyle: options.forcePathStyle,
      requestChecksumCalculation: checksums,
      responseChecksumValidation: checksums,
    });
  }

  /**
   * A multipart upload (a single PUT for bodies under one part), completed only once `body` has
   * ended; on any failure the SDK aborts it, so no parts linger. Should that abort itself fail,
   * the parts stay until a bucket lifecycle rule (AbortIncompleteMultipartUpload) removes them.
   */
  async write(key: string, body: Readable): Promise<void> {
    // The SDK rejects with the abort's error when aborting fails; the body's own error is the cause.
    let bodyError: unknown;
    const noteBodyError = (error: unknown) => (bodyError ??= error);
    body.on('error', noteBodyError);
    try {
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key: checkedKey(key), Body: body },
        partSize: PART_SIZE,
        queueSize: PARTS_IN_FLIGHT,
        leavePartsOnError: false,
      });
      await upload.done();
    } catch (error) {
      body.destroy();
      throw bodyError ?? error;
    } finally {
      body.off('error', noteBodyError);
    }
  }

  async read(key: string): Promise<Readable | null> {
    const command = new GetObjectCommand({ Bucket: this.bucket, Key: checkedKey(key) });
    try {
      const { Body } = await this.client.send(command);
      // In Node the SDK's body is an IncomingMessage; anything else means a foreign request handler.
      if (!(Body instanceof Readable)) {
        throw new Error('the S3 client returned a body that is not a Node stream');
      }
      return Body;
    } catch (error) {
      if (isNoSuchKey(error)) return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: checkedKey(key) }));
  }

  async list(prefix: string): Promise<string[]> {
    const Prefix = `${checkedKey(prefix)}/`;
    const keys: string[] = [];
    let ContinuationToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix, ContinuationToken }),
      );
      for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
    return keys.sort();
  }

  async reachable(): Promise<boolean> {
    try {
      // Bounded: a readiness probe must answer even when the bucket does not.
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), {
        abortSignal: AbortSignal.timeout(REACHABLE_TIMEOUT_MS),
      });
      return true;
    } catch {
      return false;
    }
  }

  /** Closes the client's idle connections; the driver is unusable afterwards. */
  close(): void {
    this.client.destroy();
  }
}
