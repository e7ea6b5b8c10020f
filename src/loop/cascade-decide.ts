// The cascade's two decisions beside the reducer's (loop/reducer.ts), pure like it: a smoke run of the
// unchanged code is recorded and decides nothing; a candidate its smoke stage screened out is discarded
// with the smoke stage's rationale and an empty metric, so no smoke metric reaches the best, σ or a chart.
// apply.ts routes these two outcomes here and everything else to the reducer.
import { finishOf, type BestState, type Decided, type DecisionInput } from "./reducer.ts";

/** Whether this outcome is the cascade's to decide (a smoke run of the unchanged code, or a screened candidate). */
export function isCascadeOutcome(input: Pick<DecisionInput, "outcome">): boolean {
  const { outcome } = input;
  return outcome.job.kind === "smoke" || (outcome.job.kind === "candidate" && outcome.status === "ok" && outcome.smoke?.verdict === "screened");
}

export function decideCascade(state: BestState, input: DecisionInput): Decided {
  const { outcome, at } = input;
  const { id } = outcome;
  const { finish, finished } = finishOf(input);
  if (outcome.job.kind === "smoke") {
    // A measurement: a failed one is the unchanged code's, not the proposers', so the failures in a row stay as they were.
    const rationale = outcome.status === "ok" ? "smoke run of the unchanged code: the yardstick for candidates' smoke stages" : null;
    return { state, ledger: { finish: { id, patch: { ...finish, rationale } }, amend: null, session: null }, ref: null, events: [finished], followUps: [] };
  }
  const rationale = outcome.smoke!.rationale;
  return {
    // It ran and was judged: an ok result ends a run of failures. It was never measured at full budget, so it
    // joins no noise group and does not count towards the periodic re-measure.
    state: { ...state, consecutiveFailures: 0 },
    ledger: { finish: { id, patch: { ...finish, metric: null, heldOutMetric: null, decision: "discard", rationale, bestBefore: state.metric, delta: null } }, amend: null, session: null },
    ref: null,
    events: [finished, { type: "decision", at, id, decision: "discard", metric: null, best: state.metric, delta: null, rationale }],
    followUps: [],
  };
}
