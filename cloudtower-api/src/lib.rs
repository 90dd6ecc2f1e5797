//! Typed async client for the SmartX CloudTower API.

pub mod client;
pub mod codec;
pub mod error;

pub use client::{Client, FilePart};
pub use codec::{Nullable, WithTask};
pub use error::{Error, ErrorBody};
