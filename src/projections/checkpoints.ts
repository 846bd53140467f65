/** Stored positions of the log's consumers (projections, the delivery saga). */
export interface CheckpointStore {
  load(name: string): Promise<number>;
  save(name: string, position: number): Promise<void>;
}
