import type { FastifyInstance } from 'fastify';
import { EgressStatus, WebhookReceiver, type EgressInfo } from 'livekit-server-sdk';
import type { Config } from '../config/config.ts';
import type { Logger } from '../core/logger.ts';
import type { Database } from '../db/db.ts';
import { callIdOfRoom } from './calls.livekit.ts';
import { callsRepo } from './calls.repo.ts';
import type { EgressReport } from './calls.recordings.ts';
import type { CallsService } from './calls.service.ts';

/**
 * LiveKit's webhook: the signature (a JWT whose sha256 claim is the hash of the raw body) is
 * checked on the exact bytes received, so this route parses the body itself. Deliveries are
 * deduplicated by event id; each one reconciles the call record: a party joining the room makes
 * the call active, leaving starts the reconnect grace, the room finishing ends the call; Egress
 * reports (started, updated, ended) reconcile the call's recording record.
 */
export async function registerLiveKitWebhook(http: FastifyInstance, deps: { config: NonNullable<Config['calls']['livekit']>; calls: CallsService; database: Database; log: Logger }): Promise<void> {
  const receiver = new WebhookReceiver(deps.config.apiKey, deps.config.apiSecret);
  await http.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 256 * 1024 }, (_req, body, done) => done(null, body));
    scope.post('/webhooks/livekit', async (req, reply) => {
      const raw = typeof req.body === 'string' ? req.body : '';
      const auth = (req.headers.authorization ?? req.headers.authorize) as string | undefined;
      let event;
      try {
        event = await receiver.receive(raw, auth?.replace(/^Bearer\s+/i, ''));
      } catch (err) {
        deps.log.warn({ err: (err as Error).message }, 'livekit webhook refused');
        return reply.code(401).send({ code: 'call.webhook_invalid' });
      }
      const roomName = event.room?.name || event.egressInfo?.roomName;
      const callId = roomName ? callIdOfRoom(roomName) : null;
      if (!callId) return reply.send({ ok: true, ignored: 'not a call room' });
      if (event.id && !(await callsRepo.firstDelivery(deps.database.db, event.id))) return reply.send({ ok: true, duplicate: true });
      const call = await callsRepo.get(deps.database.db, callId);
      if (!call) return reply.send({ ok: true, ignored: 'unknown call' });
      if (event.egressInfo && event.event.startsWith('egress_')) {
        const rec = await deps.calls.onEgress(egressReport(callId, event.egressInfo));
        return reply.send({ ok: true, recording: rec?.status ?? 'ignored' });
      }
      const who = event.participant?.identity;
      const act = (cmd: Parameters<CallsService['act']>[2]) => deps.calls.act(null, callId, cmd).catch((err: Error) => deps.log.info({ err: err.message, callId, event: event.event }, 'livekit webhook: nothing to change'));
      switch (event.event) {
        case 'participant_joined':
          if (!who) break;
          await act({ type: 'party_back', userId: who });
          if (call.state === 'accepted') await act({ type: 'connected', by: who, device: who === call.calleeId ? (call.answeredByDevice ?? '') : (call.callerDevice ?? '') });
          break;
        case 'participant_left':
          if (who) await act({ type: 'party_gone', userId: who });
          break;
        case 'room_finished':
          await act({ type: 'room_finished' });
          break;
      }
      return reply.send({ ok: true });
    });
  });
}

const STATUS: Record<EgressStatus, EgressReport['status']> = {
  [EgressStatus.EGRESS_STARTING]: 'starting',
  [EgressStatus.EGRESS_ACTIVE]: 'active',
  [EgressStatus.EGRESS_ENDING]: 'ending',
  [EgressStatus.EGRESS_COMPLETE]: 'complete',
  [EgressStatus.EGRESS_FAILED]: 'failed',
  [EgressStatus.EGRESS_ABORTED]: 'aborted',
  [EgressStatus.EGRESS_LIMIT_REACHED]: 'limit_reached',
};

/** The parts of an EgressInfo a recording record keeps: status, error, and the (first) file's key, size and length. */
export function egressReport(callId: string, info: EgressInfo): EgressReport {
  // `fileResults` since Egress v1.7; the older single `file` field before it.
  const f = info.fileResults[0] ?? (info.result.case === 'file' ? info.result.value : undefined);
  const key = f ? f.filename || (f.location ? decodeURIComponent(new URL(f.location, 'http://x').pathname).replace(/^\/+/, '') : '') : '';
  return {
    egressId: info.egressId,
    callId,
    status: STATUS[info.status] ?? 'failed',
    error: info.error,
    file: f && key ? { key, sizeBytes: Number(f.size), durationMs: Math.round(Number(f.duration) / 1e6) } : null,
  };
}
