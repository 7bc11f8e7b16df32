/** Board activities (board queue): move the card and comment on it, through the card's provider. */
import { Context } from '@temporalio/activity';
import type { Provider } from '../src/core/types';
import { log as defaultLog, type Logger } from '../src/log';
import type { BoardClient } from '../src/plugins/kanban/types';
import { heartbeatDuring } from './heartbeat';
import { activityLogger } from './logger';
import type { BoardActivities } from './types';

export function createBoardActivities(boards: Partial<Record<Provider, BoardClient>>, base: Logger = defaultLog): BoardActivities {
  const boardFor = (provider: Provider): BoardClient => {
    const board = boards[provider];
    if (!board) throw new Error(`no board client configured for provider ${provider}`);
    return board;
  };
  return {
    // Heartbeating while the board answers: a worker that dies mid-call is retried after the heartbeat timeout.
    async moveCard({ card, column }) {
      await heartbeatDuring(Context.current(), () => undefined, boardFor(card.ref.provider).moveCard(card, column));
      activityLogger(base).info({ column }, 'card moved on its board');
    },
    async comment({ card, commentKey, text }) {
      await heartbeatDuring(Context.current(), () => undefined, boardFor(card.ref.provider).comment(card, commentKey, text));
      activityLogger(base).info({ commentKey }, 'commented on the card');
    },
  };
}
