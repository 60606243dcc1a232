import type { Config } from '../config/config.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Database } from '../db/db.ts';
import type { EventLog } from '../realtime/event-log.ts';
import type { ObjectStorage } from '../storage/object-storage.ts';
import { S3Storage } from '../storage/s3-storage.ts';
import type { CallRecorder } from './calls.recorder.ts';
import { CallRecordings } from './calls.recordings.ts';

/** Recordings: p2p files go to the deployment's storage; LiveKit Egress files are read from the CALL_RECORDING_S3_* bucket. */
export function createCallRecordings(d: { config: Config; database: Database; events: EventLog; clock: Clock; log: Logger; storage: ObjectStorage; ffmpeg: Promise<boolean>; recorder: CallRecorder | null; fetch?: typeof fetch }): CallRecordings {
  const s3 = d.config.calls.recordingS3;
  const egressStore = s3
    ? new S3Storage({ accessKeyId: s3.accessKey, secretAccessKey: s3.secret, region: s3.region, bucket: s3.bucket, endpoint: s3.endpoint, forcePathStyle: !!s3.endpoint }, d.fetch)
    : null;
  return new CallRecordings({ database: d.database, events: d.events, clock: d.clock, log: d.log, storage: d.storage, egressStore, recorder: d.recorder, ffmpeg: d.ffmpeg });
}
