/** With OUIJA_API_TOKEN set, the board and operator APIs want `Authorization: Bearer <token>` (webhooks are signed instead). */
import type { RequestHandler } from 'express';
import { safeEqual } from '../plugins/kanban/signatures';

export function apiTokenGuard(token: string | undefined): RequestHandler {
  return (req, res, next) => {
    if (!token || safeEqual(req.get('authorization'), `Bearer ${token}`)) return next();
    res.status(401).json({ error: 'missing or wrong API token' });
  };
}
