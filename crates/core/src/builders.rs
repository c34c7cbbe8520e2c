//! Domain builders: negatives made on purpose where judged preference alone teaches shortcuts —
//! math errors injected into reference solutions (with step labels for process supervision),
//! code mutations checked by execution, and tool-call trajectories checked against their
//! schemas. Pure functions; running code and storing pairs live in the pipeline.

pub mod arith;
pub mod code;
pub mod math;
