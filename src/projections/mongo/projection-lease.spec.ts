import { checkpointSave } from './mongo-checkpoints';
import {
  RELEASE_PROJECTION_LEASE,
  endedLease,
  heldLease,
  leaseCreation,
  renewLease,
  saveCheckpoints,
  takeLease,
} from './projection-lease';

describe('projection lease (fencing) updates', () => {
  it('creates the lease document once, ended and with no checkpoints', () => {
    expect(leaseCreation()).toEqual({
      $setOnInsert: { owner: null, token: 0, leaseUntil: new Date(0), checkpoints: {} },
    });
  });

  it("takes only an ended lease, by the server's clock, with the next fencing token", () => {
    expect(endedLease('read_models')).toEqual({
      _id: 'read_models',
      $expr: { $lte: ['$leaseUntil', '$$NOW'] },
    });
    expect(takeLease('replica-a', 10_000, false)).toEqual([
      {
        $set: {
          owner: { $literal: 'replica-a' },
          token: { $add: [{ $ifNull: ['$token', 0] }, 1] },
          leaseUntil: { $add: ['$$NOW', 10_000] },
          checkpoints: { $ifNull: ['$checkpoints', { $literal: {} }] },
        },
      },
    ]);
  });

  it('clears the checkpoints when taken over for a rebuild', () => {
    expect(takeLease('replica-a', 10_000, true)[0].$set.checkpoints).toEqual({ $literal: {} });
  });

  it('renews, saves checkpoints and releases only as the holder with its token', () => {
    expect(heldLease('read_models', 'replica-a', 7)).toEqual({
      _id: 'read_models',
      owner: 'replica-a',
      token: 7,
    });
    expect(renewLease(10_000)).toEqual([{ $set: { leaseUntil: { $add: ['$$NOW', 10_000] } } }]);
    expect(saveCheckpoints({ endpoints: 12, due_work: 12 })).toEqual({
      $set: { 'checkpoints.endpoints': 12, 'checkpoints.due_work': 12 },
    });
    expect(RELEASE_PROJECTION_LEASE).toEqual({ $set: { owner: null, leaseUntil: new Date(0) } });
  });

  it("keeps the saga's checkpoint from going back", () => {
    expect(checkpointSave(42)).toEqual({ $max: { position: 42 } });
  });
});
