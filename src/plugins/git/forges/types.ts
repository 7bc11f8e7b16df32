import type { CardInfo, ReviewRequest } from '../../../core/types';

/** Where review requests live: a pull request on GitHub, or the built-in local forge's record. */
export interface Forge {
  /** Idempotent: finds the card branch's open review request first and updates it, else opens one. */
  openOrUpdateReview(input: { card: CardInfo; branch: string; headSha: string; title: string; body: string; summary?: string }): Promise<ReviewRequest>;
}
