import type { RequestHandler } from 'express';
import type { RouteId } from '../route-table';

/** Handlers by route id: app.ts mounts each at its route-table row, behind that row's guard. */
export type Handlers = Partial<Record<RouteId, RequestHandler | RequestHandler[]>>;
