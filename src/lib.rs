//! feedbrief turns the blogs a profession reads into a daily SmartBrief-style email.
//!
//! The pipeline, one module per stage, in data-flow order:
//!
//! ```text
//! feeds.toml ─▶ config ─▶ fetch ─▶ parse ─▶ article ─────────────▶ store ─▶ select ─▶ mail
//!                 │        reqwest  feed-rs   scraper                SQLite   rank      render → copies
//!                 └ members (CSV) ─────────────────────────────────────┘               → mime → transport
//! ```
//!
//! - Stages: [`config`] (feeds.toml → a validated [`config::Config`]), [`fetch`] (HTTP with
//!   validators, limits and the private-address guard), [`parse`] (feed bytes → entries,
//!   recovering broken feeds), [`article`] (article HTML → main text and metadata → two
//!   sentences), [`store`] (the SQLite file), [`members`] (the members CSV),
//!   [`filter`] (include/exclude words → whether an entry may be chosen, and why not),
//!   [`select`] (candidates → the digest), [`mail`] (digest → each member's message →
//!   outbox or SMTP, with [`mail::delivery`] claiming and recording each delivery).
//! - Orchestration: [`cycle`] runs one cycle (`once`, and each daemon slot) by calling the
//!   stages; [`daemon`] repeats fetches on an interval and cycles on the cron schedule;
//!   [`app`] holds what they share; [`lock`] keeps one worker per data dir.
//! - Edges: [`web`] serves one-click unsubscribe, the archive (and its Atom feed, [`atom`]),
//!   health and metrics, and the sign-up form and preference centre ([`signup`]: their
//!   forms, limits and pages); [`inbound`] receives bounces, complaints and mailed
//!   unsubscribes over SMTP, and [`imap`] polls a mailbox for them; [`cli`] is one
//!   module per subcommand; [`token`] signs unsubscribe and tracked links and VERP
//!   addresses ([`clicks`] judges whether a click counts); [`opml`] moves feed lists in
//!   and out; [`review`] is the editor's desk (a draft's edits and the review page; the
//!   slot's draft is [`cycle::drafts`]).
//!
//! Parsing, extraction, summarizing, selection and rendering are pure functions of their
//! inputs; only fetch, store, mail's transport, web, inbound and imap touch the outside world.

pub mod app;
pub mod article;
pub mod atom;
pub mod bounce;
pub mod cli;
pub mod clicks;
pub mod config;
pub mod cycle;
pub mod daemon;
pub mod fetch;
pub mod filter;
pub mod imap;
pub mod inbound;
pub mod lock;
pub mod mail;
pub mod members;
pub mod opml;
pub mod parse;
pub mod review;
pub mod select;
pub mod signup;
pub mod store;
pub mod token;
pub mod web;
