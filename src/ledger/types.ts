// The records the ledger stores are the domain's own, defined in src/core/. New code imports them from
// there; these re-exports keep the loop files that are being rewritten right now compiling meanwhile.
export type { Decision, ExperimentRecord, ExperimentStatus, PhaseTimings, ReviewFlag, ReviewFlagKind } from "../core/experiment.ts";
export type { IsolationLabel, SessionRecord } from "../core/session.ts";
