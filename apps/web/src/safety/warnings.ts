import { useEffect } from 'react';
import { useI18n } from '../i18n/i18n.tsx';
import { useToast } from '../ui/Toast.tsx';
import { useChatClient } from '../sdk.ts';

/** Shows a moderator's warning (`safety.warning`) to the warned user as it arrives. */
export function useSafetyWarnings(): void {
  const client = useChatClient();
  const toast = useToast();
  const { t } = useI18n();
  useEffect(() => client.safety.onWarning((w) => toast(t('safety.warning', { message: w.message ?? t(`safety.reason.${w.reason}` as never) }), 'error')), [client, toast, t]);
}
