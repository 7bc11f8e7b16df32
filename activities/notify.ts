/** Notify activities (notify queue): a slow git remote or board never holds these up. */
import type { Notifier } from '../src/plugins/notify/log-notifier';
import type { NotifyActivities } from './types';

export function createNotifyActivities(notifier: Notifier): NotifyActivities {
  return {
    async notify({ card, event, text }) {
      await notifier.notify(card, event, text);
    },
  };
}
