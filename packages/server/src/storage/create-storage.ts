import type { MediaConfig } from '../config/config.ts';
import { LocalDiskStorage } from './local-storage.ts';
import type { ObjectStorage } from './object-storage.ts';
import { S3Storage } from './s3-storage.ts';
import { UrlSigner } from './url-signer.ts';

/** Builds the configured store: S3/MinIO when AWS_* is set, else local disk under DATA_DIR/media. */
export function createStorage(cfg: MediaConfig['storage'], signer: UrlSigner, now: () => Date, fetchImpl?: typeof fetch): ObjectStorage {
  if (cfg.kind === 's3') return new S3Storage(cfg, fetchImpl);
  return new LocalDiskStorage(cfg.dir, signer, now);
}

export { UrlSigner };
