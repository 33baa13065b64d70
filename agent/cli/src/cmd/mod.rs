pub mod policy;
pub mod sop;
