/**
 * The batch state machine: every pair of states is checked against the table written out
 * here independently of the implementation (batch-state.ts header / ARCHITECTURE.md).
 */
import { expect } from 'chai';
import type { BatchStateValue } from '../../../packages/core/src/accumulator/batch-state.js';
import { BatchState, batchStateName, checkTransition, isFinalState } from '../../../packages/core/src/accumulator/batch-state.js';
import { IllegalStateError } from '../../../packages/core/src/errors.js';

const NAMES = ['APPENDING', 'SEALING', 'SEALED', 'IN_FLIGHT', 'SUCCEEDED', 'FAILED', 'ABORTED'] as const;
type Name = (typeof NAMES)[number];

/** from → the states it may move to (the documented table). */
const ALLOWED: Record<Name, readonly Name[]> = {
  APPENDING: ['SEALING', 'FAILED', 'ABORTED'],
  SEALING: ['SEALED', 'FAILED', 'ABORTED'],
  SEALED: ['IN_FLIGHT', 'FAILED', 'ABORTED'],
  IN_FLIGHT: ['SEALED', 'SUCCEEDED', 'FAILED', 'ABORTED'],
  SUCCEEDED: [],
  FAILED: [],
  ABORTED: [],
};

const state = (name: Name): BatchStateValue => BatchState[name];

describe('BatchState', () => {
  it('numbers the states APPENDING 0 … ABORTED 6 and names each', () => {
    expect(NAMES.map((n) => BatchState[n])).to.deep.equal([0, 1, 2, 3, 4, 5, 6]);
    expect(NAMES.map((n) => batchStateName(BatchState[n]))).to.deep.equal([...NAMES]);
  });

  it('isFinalState() is true exactly for SUCCEEDED, FAILED and ABORTED', () => {
    expect(NAMES.filter((n) => isFinalState(state(n)))).to.deep.equal(['SUCCEEDED', 'FAILED', 'ABORTED']);
  });

  describe('checkTransition()', () => {
    for (const from of NAMES) {
      for (const to of NAMES) {
        if (ALLOWED[from].includes(to)) {
          it(`allows ${from} -> ${to} without building a message`, () => {
            let described = 0;
            const what = {
              toString: () => {
                described++;
                return 'batch';
              },
            };
            expect(() => checkTransition(state(from), state(to), what)).to.not.throw();
            expect(described, 'the description is built only on failure').to.equal(0);
          });
        } else {
          it(`refuses ${from} -> ${to} with IllegalStateError naming both states`, () => {
            let error: unknown;
            try {
              checkTransition(state(from), state(to), { toString: () => 'batch t-3 (2 records, created 77)' });
            } catch (e) {
              error = e;
            }
            expect(error).to.be.instanceOf(IllegalStateError);
            expect((error as IllegalStateError).code).to.equal('SLUICE_ERR_ILLEGAL_STATE');
            expect((error as Error).message).to.equal(`batch t-3 (2 records, created 77): illegal batch transition ${from} -> ${to}`);
          });
        }
      }
    }

    it('allows 13 of the 49 pairs: no self-transition, nothing out of a final state, SUCCEEDED only from IN_FLIGHT', () => {
      let allowed = 0;
      for (const from of NAMES) {
        for (const to of NAMES) {
          try {
            checkTransition(state(from), state(to), 'x');
            allowed++;
            expect(from, `${from} -> ${to}`).to.not.equal(to);
            expect(isFinalState(state(from)), `${from} -> ${to}`).to.equal(false);
            if (to === 'SUCCEEDED') expect(from).to.equal('IN_FLIGHT');
          } catch (e) {
            if (!(e instanceof IllegalStateError)) throw e;
          }
        }
      }
      expect(allowed).to.equal(13);
    });
  });
});
