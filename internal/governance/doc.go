// Package governance implements WeftOS constitutional governance: a
// Legislative constitution of rules (parsed from constitution.toml and amended
// by signed amendments), an Executive gate that decides every privileged
// operation over a five-dimensional effect vector, a queue for deferred
// decisions awaiting a human, and a Judicial auditor that replays recorded
// decisions against the rules in force at their time.
//
// The package is a lower layer: it imports no other WeftOS package. The
// daemon wires it to the kernel (which calls [Gate.Check] before every
// privileged operation) and to the ExoChain (which records
// [DecisionRecord], [AmendmentRecord], [ResolutionRecord], [SanctionRecord]
// and [ActionRecord] payloads). docs/GOVERNANCE.md describes the constitution
// format, the decision semantics and the record shapes.
//
// Hot-path design: a [Constitution] is compiled, for one environment, into an
// immutable snapshot that buckets rules by the literal prefix of their action
// globs; [Engine.Decide] reads the snapshot through an atomic pointer, so
// decisions never block on amendments and the permit path does not allocate.
package governance
