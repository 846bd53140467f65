import { PageRequest } from '../common/pagination';
import { Endpoint } from './endpoint';

export const ENDPOINTS_REPOSITORY = Symbol('EndpointsRepository');

export interface EndpointListQuery {
  /** Workspaces to include; an empty list matches nothing. */
  workspaceIds: readonly string[];
  page: PageRequest;
}

/** Read model of endpoints, fed by the endpoints projection. Deleted endpoints are never listed. */
export interface EndpointsRepository {
  findById(id: string): Promise<Endpoint | null>;
  list(query: EndpointListQuery): Promise<{ items: Endpoint[]; total: number }>;
  /** Every endpoint of the workspace that is not deleted (publishing picks its targets here). */
  listForWorkspace(workspaceId: string): Promise<Endpoint[]>;
}
