/**
 * given(events).when(command).then(events): the spec style for pure deciders. The state is
 * folded from the given events with the decider's own evolve, as in production.
 */
export interface SpecDecider<S, E, C> {
  initialState: S;
  evolve(state: S, event: E): S;
  decide(state: S, command: C): E[];
}

export function specFor<S, E, C>(decider: SpecDecider<S, E, C>) {
  return {
    given(events: E[]) {
      return {
        when(command: C) {
          const run = () =>
            decider.decide(events.reduce(decider.evolve, decider.initialState), command);
          return {
            then(expected: E[]) {
              expect(run()).toEqual(expected);
            },
            thenThrows(error: new (...args: never[]) => Error) {
              expect(run).toThrow(error);
            },
          };
        },
      };
    },
  };
}
