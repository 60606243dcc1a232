import type { CallDTO, CallQualityReport, CallSignal } from '@sohbet/protocol';
import type { Emit, EventLog } from '../realtime/event-log.ts';

/**
 * The events of calls. `call.updated` is durable and written in the same transaction as every
 * state change, to both parties (all their devices): incoming-call push, "stop ringing" and
 * missed-call push are built from it alone. Signaling and quality are ephemeral and go to the
 * other party only.
 */
export const callEvents = {
  updated(emit: Emit, call: CallDTO): void {
    emit([...new Set([call.callerId, call.calleeId])], 'call.updated', { call });
  },
  signal(events: EventLog, to: string, data: { callId: string; fromUserId: string; fromDevice: string; toDevice: string | null; signal: CallSignal }): void {
    events.publishEphemeral([to], { type: 'call.signal', data });
  },
  quality(events: EventLog, to: string, data: { callId: string; userId: string; report: CallQualityReport; bars: number }): void {
    events.publishEphemeral([to], { type: 'call.quality', data });
  },
};
