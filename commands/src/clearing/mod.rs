//! Clearing (SPEC §3.5): the optimal set-off of obligations and the clearing run built on it.
//!
//! [`solver`] is the min-cost-flow solver over integer-indexed obligations, with nothing of the
//! bot in it (benchmark B4 runs it on CSV files); its API is re-exported here, so that the
//! crate's public clearing paths are `clearing::{Obligation, optimal_set_off, …}`. [`setoff`] is
//! the clearing run as the bot applies it and the decide of `clearing`, `keep` and `unkeep`;
//! `parse` holds their grammars and parsers, `render` the text of their replies and [`result`]
//! their `org.exodus.result` fields.

pub(crate) mod parse;
pub(crate) mod render;
pub mod result;
pub mod setoff;
pub mod solver;

pub use solver::{
    ClearingError, MAX_OBLIGATIONS, Obligation, Totals, check_set_off, optimal_set_off, totals,
    validate,
};
