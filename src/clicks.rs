//! Clicks: one request to a tracked link → whether it counts as a reader's click, and why
//! not. Pure: the caller supplies the method, the `User-Agent`, the time and when the
//! digest was delivered.
//!
//! Mail security gateways open the links of incoming mail before the reader does. What
//! can be told apart is not counted: `HEAD` requests (nothing is read), user agents that
//! name a scanner, a bot or an HTTP library (and none at all), and any request within
//! [`SCANNER_WINDOW`] of the digest's delivery (of the member's copy when the link names
//! the member; else of the digest's latest accepted delivery), which is when gateways
//! open links and too soon for a person who must first open the mail. Nor is any request
//! from a network listed in `[web] scanner_networks` (a mail provider's gateways), at any
//! time: some gateways open links again minutes later, with a browser's user agent.

use std::net::IpAddr;

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
    /// From a network in `[web] scanner_networks`: not counted.
    ScannerNetwork,
}

impl Verdict {
    /// Every verdict that leaves a click uncounted.
    pub const IGNORED: [Self; 5] = [
        Self::Off,
        Self::Head,
        Self::Scanner,
        Self::TooSoon,
        Self::ScannerNetwork,
    ];

    /// The label `/metrics` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Count => "counted",
            Self::Off => "tracking_off",
            Self::Head => "head",
            Self::Scanner => "scanner_agent",
            Self::TooSoon => "too_soon_after_delivery",
            Self::ScannerNetwork => "scanner_network",
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

/// An IP network, `address/prefix` (`"40.92.0.0/15"`, `"2a01:111::/32"`); a bare address
/// is a network of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// Whether `ip` is inside it (an IPv4 address written as IPv6, `::ffff:a.b.c.d`, is
    /// taken as the IPv4 one).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => same_prefix(
                u128::from(u32::from(net)) << 96,
                u128::from(u32::from(ip)) << 96,
                self.prefix,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                same_prefix(u128::from(net), u128::from(ip), self.prefix)
            }
            _ => false,
        }
    }
}

/// Whether the first `prefix` bits of `a` and `b` agree.
fn same_prefix(a: u128, b: u128, prefix: u8) -> bool {
    match prefix {
        0 => true,
        p => (a ^ b) >> (128 - u32::from(p.min(128))) == 0,
    }
}

impl std::str::FromStr for Network {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{addr:?} is not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|&p| p <= max)
                .ok_or_else(|| format!("{p:?} is not a prefix length from 0 to {max}"))?,
        };
        Ok(Self { addr, prefix })
    }
}

/// What is known of one request to a tracked link.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// A `HEAD` request.
    pub head: bool,
    /// Its `User-Agent`.
    pub user_agent: Option<&'a str>,
    /// The client's address, when known.
    pub client: Option<IpAddr>,
    /// When it came.
    pub at: DateTime<Utc>,
}

/// The verdict on one request: `tracking` is false with `track = "off"`; `delivered_at`
/// the delivery the window counts from; `scanner_networks` from `[web]`.
pub fn judge(
    tracking: bool,
    request: &Request<'_>,
    delivered_at: Option<DateTime<Utc>>,
    scanner_networks: &[Network],
) -> Verdict {
    let now = request.at;
    if !tracking {
        Verdict::Off
    } else if request.head {
        Verdict::Head
    } else if is_scanner(request.user_agent) {
        Verdict::Scanner
    } else if request
        .client
        .is_some_and(|ip| scanner_networks.iter().any(|n| n.contains(ip)))
    {
        Verdict::ScannerNetwork
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
        let req = |head, user_agent, client, at| Request {
            head,
            user_agent,
            client,
            at,
        };
        assert_eq!(
            judge(
                true,
                &req(false, Some(FIREFOX), None, at(3)),
                Some(sent),
                &[]
            ),
            Verdict::TooSoon
        );
        assert_eq!(
            judge(
                true,
                &req(false, Some(FIREFOX), None, at(29)),
                Some(sent),
                &[]
            ),
            Verdict::TooSoon
        );
        assert_eq!(
            judge(
                true,
                &req(false, Some(FIREFOX), None, at(30)),
                Some(sent),
                &[]
            ),
            Verdict::Count
        );
        assert_eq!(
            judge(true, &req(false, Some(FIREFOX), None, at(3)), None, &[]),
            Verdict::Count
        );
        assert_eq!(
            judge(
                true,
                &req(true, Some(FIREFOX), None, at(600)),
                Some(sent),
                &[]
            ),
            Verdict::Head
        );
        assert_eq!(
            judge(
                true,
                &req(false, Some("curl/8"), None, at(600)),
                Some(sent),
                &[]
            ),
            Verdict::Scanner
        );
        assert_eq!(
            judge(
                false,
                &req(false, Some(FIREFOX), None, at(600)),
                Some(sent),
                &[]
            ),
            Verdict::Off
        );
    }

    #[test]
    fn networks_hold_their_addresses_and_bad_ones_are_refused() {
        let n: Network = "40.92.0.0/15".parse().expect("v4");
        assert!(n.contains("40.92.1.2".parse().expect("ip")));
        assert!(n.contains("40.93.255.255".parse().expect("ip")));
        assert!(!n.contains("40.94.0.0".parse().expect("ip")));
        assert!(!n.contains("40.91.255.255".parse().expect("ip")));
        assert!(n.contains("::ffff:40.92.0.9".parse().expect("mapped")));
        assert!(!n.contains("2a01:111::1".parse().expect("v6")));
        let one: Network = "192.0.2.7".parse().expect("bare");
        assert!(one.contains("192.0.2.7".parse().expect("ip")));
        assert!(!one.contains("192.0.2.8".parse().expect("ip")));
        let v6: Network = "2a01:111::/32".parse().expect("v6");
        assert!(v6.contains("2a01:111:f400::5".parse().expect("ip")));
        assert!(!v6.contains("2a01:112::1".parse().expect("ip")));
        let all: Network = "0.0.0.0/0".parse().expect("all");
        assert!(all.contains("203.0.113.1".parse().expect("ip")));
        for bad in [
            "40.92.0.0/33",
            "40.92.0/15",
            "host.example/8",
            "::/129",
            "1.2.3.4/x",
        ] {
            assert!(bad.parse::<Network>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_click_from_a_scanner_network_never_counts_and_others_still_do() {
        let sent = DateTime::parse_from_rfc3339("2026-11-27T11:00:00Z")
            .expect("date")
            .with_timezone(&Utc);
        let later = sent + chrono::TimeDelta::hours(2);
        let nets: Vec<Network> = vec!["40.92.0.0/15".parse().expect("net")];
        let from = |ip: &str| Request {
            head: false,
            user_agent: Some(FIREFOX),
            client: Some(ip.parse().expect("ip")),
            at: later,
        };
        assert_eq!(
            judge(true, &from("40.92.7.7"), Some(sent), &nets),
            Verdict::ScannerNetwork
        );
        assert_eq!(
            judge(true, &from("198.51.100.4"), Some(sent), &nets),
            Verdict::Count
        );
        let unknown = Request {
            client: None,
            ..from("40.92.7.7")
        };
        assert_eq!(judge(true, &unknown, Some(sent), &nets), Verdict::Count);
    }
}
