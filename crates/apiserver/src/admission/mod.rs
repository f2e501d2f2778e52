//! Admission steps that change objects on their way in, as upstream's mutating admission
//! plugins do (each plugged in as a [`crate::allocators::WriteHook`] of its resource).

pub mod default_storage_class;
pub mod priority;
