export { DecryptionError, open, seal } from './aead';
export { KeyWrapper } from './envelope';
export { HmacKeyRing, type RingKey } from './hmac-key-ring';
export { loadMasterKey, MasterKeyError } from './master-key';
export { measuringStream } from './measuring-stream';
export { CryptoModule } from './crypto.module';
export { TenantKeys } from './tenant-keys';
export {
  masterKeyring,
  openingStream,
  sealingStream,
  STREAM_CHUNK_BYTES,
  type StreamKeyring,
} from './stream-cipher';
