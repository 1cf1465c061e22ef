//! The `feeds.toml` tables as serde reads them (`deny_unknown_fields`), before
//! validation: strings and numbers with their spans, so an error can name the line.

use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) brief: RawBrief,
    #[serde(default)]
    pub(super) fetch: RawFetch,
    #[serde(default)]
    pub(super) delivery: RawDelivery,
    #[serde(default)]
    pub(super) web: RawWeb,
    #[serde(default)]
    pub(super) members: RawMembers,
    #[serde(default)]
    pub(super) inbound: RawInbound,
    #[serde(default)]
    pub(super) signup: RawSignup,
    #[serde(default)]
    pub(super) section: Vec<RawSection>,
    #[serde(default)]
    pub(super) feed: Vec<RawFeed>,
    #[serde(default)]
    pub(super) announcement: Vec<RawAnnouncement>,
    #[serde(default)]
    pub(super) sponsor: Vec<RawAnnouncement>,
    #[serde(default)]
    pub(super) site: Vec<RawSite>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBrief {
    pub(super) name: Spanned<String>,
    pub(super) tagline: Option<String>,
    pub(super) from: Spanned<String>,
    pub(super) reply_to: Option<Spanned<String>>,
    pub(super) schedule: Option<Spanned<String>>,
    pub(super) timezone: Option<Spanned<String>>,
    pub(super) base_url: Option<Spanned<String>>,
    pub(super) postal_address: Option<String>,
    pub(super) max_stories: Option<Spanned<i64>>,
    pub(super) per_section: Option<Spanned<i64>>,
    pub(super) first_window: Option<Spanned<String>>,
    pub(super) data_dir: Option<String>,
    pub(super) templates: Option<String>,
    pub(super) lang: Option<String>,
    pub(super) editor: Option<Spanned<String>>,
    pub(super) editors: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) review: Option<Spanned<String>>,
    pub(super) review_lead: Option<Spanned<String>>,
    pub(super) review_missing: Option<Spanned<String>>,
    pub(super) catch_up: Option<Spanned<String>>,
    pub(super) include: Option<RawPhrases>,
    pub(super) exclude: Option<RawPhrases>,
    pub(super) share: Option<bool>,
    pub(super) track: Option<Spanned<String>>,
    pub(super) most_read: Option<bool>,
    pub(super) images: Option<Spanned<String>>,
    pub(super) weekly: Option<Spanned<String>>,
}

/// An `include` or `exclude` list: each word or phrase with its place in the file.
pub(super) type RawPhrases = Spanned<Vec<Spanned<String>>>;

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum RawArticles {
    Switch(bool),
    Mode(String),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFetch {
    pub(super) interval: Option<Spanned<String>>,
    pub(super) timeout: Option<Spanned<String>>,
    pub(super) connect_timeout: Option<Spanned<String>>,
    pub(super) concurrency: Option<Spanned<i64>>,
    pub(super) per_host: Option<Spanned<i64>>,
    pub(super) user_agent: Option<String>,
    pub(super) max_body: Option<Spanned<String>>,
    pub(super) articles: Option<Spanned<RawArticles>>,
    pub(super) allow_private_addresses: Option<bool>,
    pub(super) attention_after: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDelivery {
    pub(super) transport: Option<Spanned<String>>,
    pub(super) smtp_url: Option<Spanned<RawSmtpUrls>>,
    pub(super) outbox: Option<String>,
    pub(super) connections: Option<Spanned<i64>>,
    pub(super) rate_per_second: Option<Spanned<f64>>,
    pub(super) timeout: Option<Spanned<String>>,
    pub(super) attempts: Option<Spanned<i64>>,
    pub(super) dkim_selector: Option<Spanned<String>>,
    pub(super) dkim_domain: Option<Spanned<String>>,
    pub(super) dkim_key: Option<Spanned<String>>,
}

/// `[delivery] smtp_url`: one relay's URL, or a list of relays, each with its place in the
/// file. Read by hand: `Spanned` does not survive serde's untagged enums.
pub(super) enum RawSmtpUrls {
    One(String),
    Many(Vec<Spanned<String>>),
}

impl<'de> Deserialize<'de> for RawSmtpUrls {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Urls;
        impl<'de> serde::de::Visitor<'de> for Urls {
            type Value = RawSmtpUrls;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an smtp:// URL or a list of them")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawSmtpUrls, E> {
                Ok(RawSmtpUrls::One(v.to_string()))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<RawSmtpUrls, A::Error> {
                let mut urls = Vec::new();
                // Bounded by the file: one element per pass.
                while let Some(url) = seq.next_element::<Spanned<String>>()? {
                    urls.push(url);
                }
                Ok(RawSmtpUrls::Many(urls))
            }
        }
        d.deserialize_any(Urls)
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWeb {
    pub(super) listen: Option<Spanned<String>>,
    pub(super) header_timeout: Option<Spanned<String>>,
    pub(super) idle_timeout: Option<Spanned<String>>,
    pub(super) max_connections: Option<Spanned<i64>>,
    pub(super) max_body: Option<Spanned<String>>,
    pub(super) scanner_networks: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSignup {
    pub(super) enabled: Option<bool>,
    pub(super) confirm_within: Option<Spanned<String>>,
    pub(super) per_address: Option<Spanned<i64>>,
    pub(super) per_ip: Option<Spanned<i64>>,
    pub(super) forwarded_for: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMembers {
    pub(super) file: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawInbound {
    pub(super) bounce_domain: Option<Spanned<String>>,
    pub(super) listen: Option<Spanned<String>>,
    pub(super) max_message_size: Option<Spanned<String>>,
    pub(super) connection_timeout: Option<Spanned<String>>,
    pub(super) max_connections: Option<Spanned<i64>>,
    pub(super) max_recipients: Option<Spanned<i64>>,
    pub(super) soft_bounce_limit: Option<Spanned<i64>>,
    pub(super) soft_bounce_window: Option<Spanned<String>>,
    pub(super) imap: Option<Spanned<RawImap>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawImap {
    pub(super) url: Spanned<String>,
    pub(super) user: Spanned<String>,
    pub(super) password_env: Spanned<String>,
    pub(super) mailbox: Option<Spanned<String>>,
    pub(super) every: Option<Spanned<String>>,
    pub(super) after: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSection {
    pub(super) name: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFeed {
    pub(super) name: Spanned<String>,
    pub(super) url: Spanned<String>,
    pub(super) section: Option<Spanned<String>>,
    pub(super) weight: Option<Spanned<f64>>,
    pub(super) include: Option<RawPhrases>,
    pub(super) exclude: Option<RawPhrases>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAnnouncement {
    pub(super) title: String,
    pub(super) body: String,
    pub(super) link: Spanned<String>,
    pub(super) cta: Option<String>,
    pub(super) image: Option<Spanned<String>>,
    pub(super) image_alt: Option<String>,
    pub(super) until: Option<Spanned<toml::value::Datetime>>,
    pub(super) after_section: Option<Spanned<String>>,
}

/// `[[site]]`: extraction rules for one site's story pages.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSite {
    pub(super) host: Spanned<String>,
    pub(super) article: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) remove: Vec<Spanned<String>>,
}
