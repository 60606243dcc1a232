import { AccessToken, EgressClient, EncodedFileOutput, EncodedFileType, RoomServiceClient, S3Upload, TrackSource } from 'livekit-server-sdk';
import type { CallJoinInfo } from '@sohbet/protocol';
import type { Config } from '../config/config.ts';
import type { MediaProvider } from './calls.providers.ts';

type LiveKitConfig = NonNullable<Config['calls']['livekit']>;

/** The LiveKit room of a call (the webhook maps it back with {@link callIdOfRoom}). */
export const roomOf = (callId: string): string => `sohbet-call-${callId}`;
export const callIdOfRoom = (room: string): string | null => (room.startsWith('sohbet-call-') ? room.slice('sohbet-call-'.length) : null);

/**
 * LiveKit (cloud or self-hosted): a room per call, created when the call is answered (two
 * participants at most, closed soon after it empties), an access token per party valid one hour
 * and scoped to that room and identity (camera, microphone and screen share allowed), the room
 * deleted when the call ends. Recording goes through Egress to S3. Ringing, busy and missed
 * calls stay ours: LiveKit has none of them.
 */
export class LiveKitProvider implements MediaProvider {
  readonly name = 'livekit' as const;
  private readonly rooms: RoomServiceClient;
  private readonly egress: EgressClient;

  constructor(
    private readonly lk: LiveKitConfig,
    private readonly s3: Config['calls']['recordingS3'],
  ) {
    this.rooms = new RoomServiceClient(lk.apiUrl, lk.apiKey, lk.apiSecret);
    this.egress = new EgressClient(lk.apiUrl, lk.apiKey, lk.apiSecret);
  }

  async prepare(call: { id: string; recording: boolean }): Promise<{ recordingRef?: string; recordingError?: string }> {
    await this.rooms.createRoom({ name: roomOf(call.id), maxParticipants: 2, emptyTimeout: this.lk.emptyTimeoutSec, departureTimeout: 20 });
    if (!call.recording || !this.s3) return {};
    const file = new EncodedFileOutput({
      fileType: EncodedFileType.MP4,
      filepath: `calls/${call.id}/{time}.mp4`,
      output: {
        case: 's3',
        value: new S3Upload({ bucket: this.s3.bucket, region: this.s3.region, accessKey: this.s3.accessKey, secret: this.s3.secret, endpoint: this.s3.endpoint ?? '', forcePathStyle: !!this.s3.endpoint }),
      },
    });
    // A recording that cannot start must not stop the call itself.
    try {
      const info = await this.egress.startRoomCompositeEgress(roomOf(call.id), { file }, { layout: 'speaker' });
      return { recordingRef: info.egressId };
    } catch (err) {
      return { recordingError: (err as Error).message };
    }
  }

  async join(call: { id: string }, userId: string): Promise<CallJoinInfo> {
    const at = new AccessToken(this.lk.apiKey, this.lk.apiSecret, { identity: userId, ttl: '1h' });
    at.addGrant({
      roomJoin: true,
      room: roomOf(call.id),
      canPublish: true,
      canSubscribe: true,
      canPublishData: true,
      canPublishSources: [TrackSource.CAMERA, TrackSource.MICROPHONE, TrackSource.SCREEN_SHARE, TrackSource.SCREEN_SHARE_AUDIO],
    });
    return { provider: 'livekit', url: this.lk.url, token: await at.toJwt() };
  }

  async release(call: { id: string }): Promise<void> {
    await this.rooms.deleteRoom(roomOf(call.id));
  }
}
