/** The default notifier: a structured log line per card event (Slack and webhooks plug in beside it). */
import type { CardInfo } from '../../core/types';
import type { Logger } from '../../log';

export interface Notifier {
  notify(card: CardInfo, event: string, text: string): Promise<void>;
}

export function logNotifier(log: Logger): Notifier {
  return {
    async notify(card, event, text) {
      log.info({ card: card.key, event }, text);
    },
  };
}
