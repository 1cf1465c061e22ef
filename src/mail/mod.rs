//! Mail: a recorded digest → one message per member → the outbox or an SMTP relay.
//!
//! ```text
//! digest ─▶ render (templates, CSS inlined) ─▶ copies (once per kind of member)
//!        ─▶ mime (headers, quoted-printable, DKIM) ─▶ transport (outbox │ smtp pool)
//! ```
//!
//! [`delivery`] drives them for every owed delivery (its database steps through the
//! `ledger`, which makes those of all connections in shared commits): claims it, checks the member, builds
//! the member's message, sends with retries and records the outcome. [`confirm`] composes
//! the sign-up and address-change confirmation mail.

pub mod confirm;
pub mod copies;
pub mod delivery;
mod ledger;
pub mod mime;
pub mod render;
pub mod smtp;
pub mod transport;

pub use delivery::{
    brief_info, click_links, deliver_pending, message_for, unsubscribe_url, web_version,
};
pub use transport::{SendError, Sender};
