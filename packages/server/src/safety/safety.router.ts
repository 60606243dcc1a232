import { auditListInput, listReportsInput, liftInput, reportRef, resolveReportInput, suspendInput } from '@sohbet/protocol';
import { router, serverProcedure, userProcedure } from '../core/trpc.ts';
import { assertAdmin, assertModerator } from './safety.domain.ts';

/** A signed-in user whose token carries the `admin` or `moderator` role. */
const moderatorProcedure = userProcedure.use(({ ctx, next }) => {
  assertModerator(ctx.user.roles);
  return next();
});

/** A signed-in user whose token carries the `admin` role. */
const adminProcedure = userProcedure.use(({ ctx, next }) => {
  assertAdmin(ctx.user.roles);
  return next();
});

/** The moderators' review queue, suspensions and (admins) the audit log. */
export const safetyRouter = router({
  reports: moderatorProcedure.input(listReportsInput).query(({ ctx, input }) => ctx.services.safety.listReports(input)),
  report: moderatorProcedure.input(reportRef).query(({ ctx, input }) => ctx.services.safety.getReport(input.reportId)),
  resolve: moderatorProcedure.input(resolveReportInput).mutation(({ ctx, input }) => ctx.services.safety.resolve({ kind: 'user', id: ctx.user.id }, input)),
  suspend: moderatorProcedure.input(suspendInput).mutation(({ ctx, input }) => ctx.services.safety.suspend({ kind: 'user', id: ctx.user.id }, input)),
  suspensions: moderatorProcedure.query(({ ctx }) => ctx.services.safety.suspensions()),
  lift: adminProcedure.input(liftInput).mutation(({ ctx, input }) => ctx.services.safety.lift({ kind: 'user', id: ctx.user.id }, input.userId)),
  audit: adminProcedure.input(auditListInput).query(({ ctx, input }) => ctx.services.safety.auditLog(input)),
});

/** The same for the host backend (`server.safety.*`, header `x-api-key`). */
export const safetyServerRouter = router({
  reports: serverProcedure.input(listReportsInput).query(({ ctx, input }) => ctx.services.safety.listReports(input)),
  report: serverProcedure.input(reportRef).query(({ ctx, input }) => ctx.services.safety.getReport(input.reportId)),
  resolve: serverProcedure.input(resolveReportInput).mutation(({ ctx, input }) => ctx.services.safety.resolve({ kind: 'server' }, input)),
  suspend: serverProcedure.input(suspendInput).mutation(({ ctx, input }) => ctx.services.safety.suspend({ kind: 'server' }, input)),
  suspensions: serverProcedure.query(({ ctx }) => ctx.services.safety.suspensions()),
  lift: serverProcedure.input(liftInput).mutation(({ ctx, input }) => ctx.services.safety.lift({ kind: 'server' }, input.userId)),
  audit: serverProcedure.input(auditListInput).query(({ ctx, input }) => ctx.services.safety.auditLog(input)),
});
