import type { Collection, Db, UpdateFilter } from 'mongodb';
import { CheckpointStore } from '../checkpoints';

export interface CheckpointDoc {
  _id: string;
  position: number;
}

export const CHECKPOINTS_COLLECTION = 'checkpoints';

/** Moves the checkpoint forward only: `$max` keeps the furthest position any replica saved. */
export function checkpointSave(position: number): UpdateFilter<CheckpointDoc> {
  return { $max: { position } };
}

/**
 * Positions of consumers that are not projections (the delivery saga). Every replica runs such a
 * consumer and its effects are idempotent, so a save needs no fencing; it is only kept from going
 * back when a slower replica saves an older position than a faster one did.
 */
export class MongoCheckpoints implements CheckpointStore {
  private readonly collection: Collection<CheckpointDoc>;

  constructor(db: Db) {
    this.collection = db.collection<CheckpointDoc>(CHECKPOINTS_COLLECTION);
  }

  async load(name: string): Promise<number> {
    return (await this.collection.findOne({ _id: name }))?.position ?? 0;
  }

  async save(name: string, position: number): Promise<void> {
    await this.collection.updateOne({ _id: name }, checkpointSave(position), { upsert: true });
  }
}
