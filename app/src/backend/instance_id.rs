//! Which run of which process answered: a fresh random id made at every start.
//!
//! Operators and tools read it from `/healthz` to tell instances behind a load balancer
//! apart, and the bus between instances stamps its hints with it so an instance ignores its
//! own. It is not stored anywhere and identifies nothing beyond this run: a restarted
//! process gets a new one (the database's `instance` row, by contrast, names the data).

use std::fmt;

use argon2::password_hash::rand_core::{OsRng, RngCore};

/// 64 random bits from the OS, shown as 16 lowercase hex digits. Two instances drawing the
/// same id would only make each ignore the other's hints, and catch-up still delivers;
/// with 64 bits that needs billions of starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InstanceId(u64);

impl InstanceId {
    pub fn random() -> Self {
        Self(OsRng.next_u64())
    }

    /// Reads an id as [`fmt::Display`] writes it (how it travels in hints).
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != 16 {
            return None;
        }
        u64::from_str_radix(text, 16).ok().map(Self)
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_start_draws_a_different_id() {
        assert_ne!(InstanceId::random(), InstanceId::random());
    }

    #[test]
    fn an_id_reads_back_from_its_text_and_nothing_else_does() {
        let id = InstanceId(0xab);
        assert_eq!(id.to_string(), "00000000000000ab");
        assert_eq!(InstanceId::parse(&id.to_string()), Some(id));
        for bad in ["ab", "00000000000000zz", "000000000000000ab"] {
            assert_eq!(InstanceId::parse(bad), None, "{bad}");
        }
    }
}
