/**
 * Custom search attributes that let operators find a card's runs in the Temporal Web UI
 * (e.g. `OuijaPhase = "review" AND OuijaBoard = "demo"`). Registered by `ouija dev` on its server.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const OUIJA_CARD = defineSearchAttributeKey('OuijaCard', SearchAttributeType.KEYWORD);
export const OUIJA_BOARD = defineSearchAttributeKey('OuijaBoard', SearchAttributeType.KEYWORD);
export const OUIJA_PHASE = defineSearchAttributeKey('OuijaPhase', SearchAttributeType.KEYWORD);
export const OUIJA_REPO = defineSearchAttributeKey('OuijaRepo', SearchAttributeType.KEYWORD);

/** name → type, as `temporal server start-dev --search-attribute Name=Keyword` wants them. */
export const SEARCH_ATTRIBUTES: Record<string, 'Keyword'> = {
  OuijaCard: 'Keyword',
  OuijaBoard: 'Keyword',
  OuijaPhase: 'Keyword',
  OuijaRepo: 'Keyword',
};
