//! # bench — load generators, test publishers and peer comparisons
