/** Notify activities (notify queue): a slow git remote or board never holds these up. */
import { Context } from '@temporalio/activity';
import { log as defaultLog, type Logger } from '../src/log';
import type { Notifier } from '../src/plugins/notify/log-notifier';
import { heartbeatDuring } from './heartbeat';
import { activityLogger } from './logger';
import type { NotifyActivities } from './types';

export function createNotifyActivities(notifier: Notifier, base: Logger = defaultLog): NotifyActivities {
  return {
    async notify({ card, event, text }) {
      await heartbeatDuring(Context.current(), () => undefined, notifier.notify(card, event, text));
      activityLogger(base).debug({ event }, 'notification sent');
    },
  };
}
