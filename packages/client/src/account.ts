import type { AccountDeletionDTO, AccountExportDTO } from '@sohbet/protocol';
import type { SohbetTRPC } from './connection.ts';

/** Privacy: your data export and account deletion. */
export interface AccountApi {
  /**
   * Everything Sohbet keeps about you (profile, conversations, your messages and reactions, your
   * files and call recordings with download links valid one hour, calls, support chats,
   * notification devices and preferences) as one JSON document. File links are absolute.
   */
  export(): Promise<AccountExportDTO>;
  /**
   * The export as a JSON Blob ready to save (`sohbet-export-<id>.json`), for browsers.
   */
  exportBlob(): Promise<{ blob: Blob; filename: string }>;
  /**
   * Deletes your account for good: your profile is anonymised ("Deleted user"), your messages
   * become tombstones in everyone's history, your files, recordings and devices are removed and
   * every session closes. Afterwards the client's status is `unauthenticated` and every token for
   * your id is refused with `auth.account_deleted`.
   */
  delete(): Promise<AccountDeletionDTO>;
}

export function createAccountApi(deps: { call: <T>(f: (t: SohbetTRPC) => Promise<T>) => Promise<T>; baseUrl: string }): AccountApi {
  const absolute = (u: string) => (/^[a-z][a-z0-9+.-]*:/i.test(u) ? u : `${deps.baseUrl}${u.startsWith('/') ? '' : '/'}${u}`);
  const api: AccountApi = {
    async export() {
      // tRPC's inferred output makes `unknown` fields (context, payload) optional; the server returns the DTO.
      const out = (await deps.call((t) => t.account.export.query())) as AccountExportDTO;
      return {
        ...out,
        files: out.files.map((f) => ({ ...f, url: absolute(f.url) })),
        callRecordings: out.callRecordings.map((r) => ({ ...r, url: r.url === null ? null : absolute(r.url) })),
      };
    },
    async exportBlob() {
      const out = await api.export();
      return { blob: new Blob([JSON.stringify(out, null, 2)], { type: 'application/json' }), filename: `sohbet-export-${out.profile.id.replace(/[^A-Za-z0-9_.-]/g, '_')}.json` };
    },
    delete: () => deps.call((t) => t.account.delete.mutate({ confirm: 'DELETE' })),
  };
  return api;
}
