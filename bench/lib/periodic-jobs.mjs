/**
 * The server's periodic jobs, as the media and loop-probe benches watch them: a name with its
 * period, and the object and method that run it. One list, so a job added to the server is
 * added to every bench that says which jobs ran in its windows.
 */
export function periodicJobs(app) {
  const s = app.services;
  const list = [
    ['notify.pass', '0.5 s', s.notifyWorker, 'pass'],
    ['support.sweep', '1 s', s.support, 'sweep'],
    ['support.heartbeat', '', s.support, 'heartbeat'],
    ['calls.sweep', '1 s', s.calls, 'sweep'],
    ['presence.heartbeat', '20 s', app.connections, 'heartbeat'],
    ['media.sweep', '60 s', s.media, 'sweep'],
    ['retention.runIfDue', '60 s', s.retention, 'runIfDue'],
    ['media.reconcile', '1 h', s.media, 'reconcile'],
    ['events.prune', '1 h', app.connections, 'prune'],
  ];
  if (s.webhooks) list.push(['webhooks.deliverDue', '', s.webhooks, 'deliverDue']);
  return list.map(([name, period, obj, method]) => ({ name, period, obj, method }));
}
