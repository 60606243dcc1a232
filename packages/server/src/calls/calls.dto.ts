import type { CallDTO, CallQualitySummary } from '@sohbet/protocol';
import { durationSec } from './calls.domain.ts';
import type { CallRow } from './calls.repo.ts';

export function callDTO(c: CallRow): CallDTO {
  return {
    id: c.id,
    conversationId: c.conversationId,
    callerId: c.callerId,
    calleeId: c.calleeId,
    media: c.media,
    provider: c.provider,
    state: c.state,
    endReason: c.endReason ?? null,
    answeredByDevice: c.answeredByDevice,
    recording: c.recording,
    createdAt: c.createdAt.toISOString(),
    acceptedAt: c.acceptedAt?.toISOString() ?? null,
    endedAt: c.endedAt?.toISOString() ?? null,
    durationSec: durationSec(c),
    activeAt: c.activeAt?.toISOString() ?? null,
    endedBy: c.endedBy,
    quality: (c.quality as CallQualitySummary | null) ?? null,
  };
}
