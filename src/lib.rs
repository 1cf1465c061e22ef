//! feedbrief turns the blogs a profession reads into a daily SmartBrief-style email.
//!
//! The pipeline, one module per stage, in data-flow order:
//!
//! ```text
//! feeds.toml ─▶ config ─▶ fetch ─▶ parse ─▶ extract + summarize ─▶ store ─▶ select ─▶ render ─▶ deliver
//!                 │        reqwest  feed-rs   scraper                SQLite   rank      minijinja  lettre
//!                 └ members (CSV) ─────────────────────────────────────┘
//! ```
//!
//! [`pipeline`] drives one cycle (`feedbrief once`); [`daemon`] repeats fetches on an
//! interval and sends on the cron schedule (`feedbrief run`); [`web`] serves one-click
//! unsubscribe and the archive. Parsing, extraction,
//! summarizing, selection and rendering are pure functions of their inputs; only fetch,
//! store and deliver touch the outside world.

pub mod cli;
pub mod config;
pub mod copies;
pub mod daemon;
pub mod deliver;
pub mod extract;
pub mod fetch;
pub mod lock;
pub mod members;
pub mod opml;
pub mod parse;
pub mod pipeline;
pub mod render;
pub mod select;
pub mod store;
pub mod summarize;
pub mod token;
pub mod web;
