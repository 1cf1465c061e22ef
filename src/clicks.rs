//! Clicks: one request to a tracked link → whether it counts as a reader's click, and why
//! not. Pure: the caller supplies the method, the `User-Agent`, the time and when the
//! digest was delivered.
//!
//! Mail security gateways open the links of incoming mail before the reader does. What
//! can be told apart is not counted: `HEAD` requests (nothing is read), user agents that
//! name a scanner, a bot or an HTTP library (and none at all), and any request within
//! [`SCANNER_WINDOW`] of the digest's delivery (of the member's copy when the link names
//! the member; else of the digest's latest accepted delivery), which is when gateways
//! open links and too soon for a person who must first open the mail.

use chrono::{DateTime, Utc};

/// A click this soon after delivery is taken for a mail scanner's.
pub const SCANNER_WINDOW: chrono::TimeDelta = chrono::TimeDelta::seconds(30);

/// Lower-case pieces of the `User-Agent` headers of link scanners, previewers, bots and
/// HTTP libraries (Microsoft Defender's Safe Links, Proofpoint, Mimecast, Barracuda …).
const SCANNER_AGENTS: &[&str] = &[
    "bot",
    "spider",
    "crawl",
    "scan",
    "preview",
    "safelinks",
    "safe links",
    "urldefense",
    "proofpoint",
    "mimecast",
    "barracuda",
    "forcepoint",
    "ironport",
    "cisco",
    "trend micro",
    "trendmicro",
    "symantec",
    "messagelabs",
    "sophos",
    "fireeye",
    "checkpoint",
    "zscaler",
    "bitdefender",
    "kaspersky",
    "avast",
    "mcafee",
    "virustotal",
    "headless",
    "phantomjs",
    "facebookexternalhit",
    "python-",
    "python/",
    "curl/",
    "wget/",
    "go-http-client",
    "java/",
    "okhttp",
    "libwww",
    "httpclient",
    "axios/",
    "node-fetch",
];

/// Whether a request to a tracked link is counted, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A reader's click: counted.
    Count,
    /// `[brief] track = "off"`: redirected, nothing counted.
    Off,
    /// A `HEAD` request: redirected, not counted.
    Head,
    /// A scanner's, bot's or library's user agent (or none): not counted.
    Scanner,
    /// Within [`SCANNER_WINDOW`] of delivery: not counted.
    TooSoon,
}

impl Verdict {
    /// Every verdict that leaves a click uncounted.
    pub const IGNORED: [Self; 4] = [Self::Off, Self::Head, Self::Scanner, Self::TooSoon];

    /// The label `/metrics` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Count => "counted",
            Self::Off => "tracking_off",
            Self::Head => "head",
            Self::Scanner => "scanner_agent",
            Self::TooSoon => "too_soon_after_delivery",
        }
    }
}

/// Whether `user_agent` names a link scanner, a bot or an HTTP library; a missing or
/// empty one counts as such (every browser sends one).
pub fn is_scanner(user_agent: Option<&str>) -> bool {
    let Some(ua) = user_agent.map(str::trim).filter(|ua| !ua.is_empty()) else {
        return true;
    };
    let ua = ua.to_ascii_lowercase();
    SCANNER_AGENTS.iter().any(|s| ua.contains(s))
}

/// The verdict on one request: `tracking` is false with `track = "off"`; `head` for a
/// `HEAD` request; `delivered_at` the delivery the window counts from.
pub fn judge(
    tracking: bool,
    head: bool,
    user_agent: Option<&str>,
    now: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
) -> Verdict {
    if !tracking {
        Verdict::Off
    } else if head {
        Verdict::Head
    } else if is_scanner(user_agent) {
        Verdict::Scanner
    } else if delivered_at.is_some_and(|d| now - d < SCANNER_WINDOW) {
        Verdict::TooSoon
    } else {
        Verdict::Count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIREFOX: &str =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
    const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";

    #[test]
    fn browsers_count_and_scanners_bots_and_libraries_do_not() {
        assert!(!is_scanner(Some(FIREFOX)));
        assert!(!is_scanner(Some(IPHONE)));
        for ua in [
            "Mozilla/5.0 (compatible; Barracuda Sentinel (EE))",
            "Mozilla/5.0 (compatible; proofpoint-urldefense)",
            "Mimecast-Links-Scanner/1.0",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36",
            "Googlebot/2.1 (+http://www.google.com/bot.html)",
            "python-requests/2.31",
            "curl/8.5.0",
            "Go-http-client/1.1",
            "facebookexternalhit/1.1",
            "",
            "   ",
        ] {
            assert!(is_scanner(Some(ua)), "{ua:?}");
        }
        assert!(is_scanner(None));
    }

    #[test]
    fn a_click_within_the_window_after_delivery_is_a_scanners() {
        let sent = DateTime::parse_from_rfc3339("2026-11-27T11:00:00Z")
            .expect("date")
            .with_timezone(&Utc);
        let at = |s: i64| sent + chrono::TimeDelta::seconds(s);
        assert_eq!(
            judge(true, false, Some(FIREFOX), at(3), Some(sent)),
            Verdict::TooSoon
        );
        assert_eq!(
            judge(true, false, Some(FIREFOX), at(29), Some(sent)),
            Verdict::TooSoon
        );
        assert_eq!(
            judge(true, false, Some(FIREFOX), at(30), Some(sent)),
            Verdict::Count
        );
        assert_eq!(
            judge(true, false, Some(FIREFOX), at(3), None),
            Verdict::Count
        );
        assert_eq!(
            judge(true, true, Some(FIREFOX), at(600), Some(sent)),
            Verdict::Head
        );
        assert_eq!(
            judge(true, false, Some("curl/8"), at(600), Some(sent)),
            Verdict::Scanner
        );
        assert_eq!(
            judge(false, false, Some(FIREFOX), at(600), Some(sent)),
            Verdict::Off
        );
    }
}
