//! Unsubscribe tokens and click signatures: (member id, address) or (digest, story,
//! member) + a secret → a token that cannot be forged.
//!
//! The token is `<member id>.<first 16 bytes of HMAC-SHA256(secret, "unsubscribe:<id>:<email>")
//! in hex>`. A tracked link's signature is the first 16 bytes of
//! HMAC-SHA256(secret, "click:<digest>:<story>:<member or empty>") in hex, written
//! `<member id>.<hex>` when it names a member. A sign-up's confirmation token is
//! `<sign-up id>.<hex>` over "signup:<id>:<email>" (its expiry is the stored row's). The
//! secret comes from `FEEDBRIEF_SECRET`,
//! else from `secret` in the data directory, generated once with mode 0600.
//!
//! VERP addresses use the same secret: `bounces+<member id>-<mac>@<bounce domain>` is a
//! digest's envelope sender and `unsubscribe+<member id>-<mac>@<bounce domain>` the
//! `mailto:` in its `List-Unsubscribe`, where mac is the first 8 bytes of
//! HMAC-SHA256(secret, "verp:<purpose>:<id>:<email>") in hex. So mail arriving at one
//! names its member, and nobody can make up an address that names another.

use std::path::Path;

use anyhow::Context;
use hmac::{KeyInit, Mac};
use sha2::Sha256;

/// Environment variable that overrides the generated secret.
pub const SECRET_ENV: &str = "FEEDBRIEF_SECRET";

/// The signing secret.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    /// A secret from raw bytes (tests, or `FEEDBRIEF_SECRET`).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }

    /// `FEEDBRIEF_SECRET` if set, else the `secret` file in `data_dir`, created on first use.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<Self> {
        if let Ok(s) = std::env::var(SECRET_ENV)
            && !s.is_empty()
        {
            return Ok(Self(s.into_bytes()));
        }
        let path = data_dir.join("secret");
        match std::fs::read(&path) {
            Ok(bytes) if bytes.len() >= 32 => return Ok(Self(bytes)),
            Ok(_) => anyhow::bail!(
                "{} is shorter than 32 bytes; delete it to generate a new one (old unsubscribe links stop working)",
                path.display()
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        }
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let mut bytes = [0u8; 32];
        getrandom_bytes(&mut bytes)?;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        if create_atomically(&path, hex.as_bytes())
            .with_context(|| format!("writing the new secret {}", path.display()))?
        {
            return Ok(Self(hex.into_bytes()));
        }
        // Another process created it first (two first runs at once): theirs is complete,
        // because it only appears under its name once fully written, so use it.
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        Ok(Self(bytes))
    }

    /// The token for a member.
    pub fn token(&self, member_id: i64, email: &str) -> String {
        format!("{member_id}.{}", self.mac(member_id, email))
    }

    /// The member id a token names, when the token is genuine for that member's address.
    pub fn verify(&self, token: &str, email_of: impl FnOnce(i64) -> Option<String>) -> Option<i64> {
        let (id_text, mac) = token.split_once('.')?;
        let id: i64 = id_text.parse().ok()?;
        // Only the form `token` writes: "02" and "+2" parse as 2 but are other strings, and
        // one member must not have many valid links.
        if id.to_string() != id_text {
            return None;
        }
        let email = email_of(id)?;
        let expected = self.mac(id, &email);
        same_text(&expected, mac).then_some(id)
    }

    /// The token of a sign-up's (or an address change's) confirmation link: like a
    /// member's, `<signup id>.<mac>`, over another label (`signup:<id>:<email>`), so one
    /// kind of token never passes for the other.
    pub fn signup_token(&self, signup_id: i64, email: &str) -> String {
        format!(
            "{signup_id}.{}",
            self.mac_of(&format!("signup:{signup_id}:{email}"))
        )
    }

    /// The sign-up id a confirmation token names, when it is genuine for that sign-up's
    /// address. Only the form [`Secret::signup_token`] writes verifies.
    pub fn verify_signup(
        &self,
        token: &str,
        email_of: impl FnOnce(i64) -> Option<String>,
    ) -> Option<i64> {
        let (id_text, mac) = token.split_once('.')?;
        let id: i64 = id_text.parse().ok()?;
        if id.to_string() != id_text {
            return None;
        }
        let email = email_of(id)?;
        same_text(&self.mac_of(&format!("signup:{id}:{email}")), mac).then_some(id)
    }

    /// The signature of a tracked link to `story` in `digest`, naming `member` when set
    /// (`[brief] track = "member"`).
    pub fn click_sig(&self, digest: i64, story: i64, member: Option<i64>) -> String {
        let mac = self.click_mac(digest, story, member);
        match member {
            Some(m) => format!("{m}.{mac}"),
            None => mac,
        }
    }

    /// Whether `sig` is genuine for `story` in `digest`: `None` when not; else the member
    /// it names, if any. Only the form [`Secret::click_sig`] writes verifies.
    pub fn verify_click(&self, digest: i64, story: i64, sig: &str) -> Option<Option<i64>> {
        let (member, mac) = match sig.split_once('.') {
            Some((id_text, mac)) => {
                let id: i64 = id_text.parse().ok()?;
                if id.to_string() != id_text {
                    return None;
                }
                (Some(id), mac)
            }
            None => (None, sig),
        };
        same_text(&self.click_mac(digest, story, member), mac).then_some(member)
    }

    fn click_mac(&self, digest: i64, story: i64, member: Option<i64>) -> String {
        let mut m = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable_key());
        let member = member.map(|m| m.to_string()).unwrap_or_default();
        m.update(format!("click:{digest}:{story}:{member}").as_bytes());
        m.finalize().into_bytes()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// A stable, unguessable hex string for `label` (e.g. a Message-ID part).
    pub fn tag(&self, label: &str) -> String {
        let mut m = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable_key());
        m.update(label.as_bytes());
        m.finalize().into_bytes()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn mac(&self, member_id: i64, email: &str) -> String {
        self.mac_of(&format!("unsubscribe:{member_id}:{email}"))
    }

    /// The first 16 bytes of HMAC-SHA256(secret, `label`), in hex.
    fn mac_of(&self, label: &str) -> String {
        let mut m = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable_key());
        m.update(label.as_bytes());
        m.finalize().into_bytes()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Constant-time comparison of two MACs in hex, so one cannot be guessed byte by byte.
fn same_text(expected: &str, given: &str) -> bool {
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// What a VERP address is for: the two local-part prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerpPurpose {
    /// `bounces+…`: the envelope sender, where bounces and complaints arrive.
    Bounces,
    /// `unsubscribe+…`: the `mailto:` of `List-Unsubscribe`.
    Unsubscribe,
}

impl VerpPurpose {
    /// The local part's prefix, without the `+`.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Bounces => "bounces",
            Self::Unsubscribe => "unsubscribe",
        }
    }
}

impl Secret {
    /// The VERP local part for a member: `bounces+7-0123456789abcdef`.
    pub fn verp_local(&self, purpose: VerpPurpose, member_id: i64, email: &str) -> String {
        format!(
            "{}+{member_id}-{}",
            purpose.prefix(),
            self.verp_mac(purpose, member_id, email)
        )
    }

    /// What a VERP local part names: its purpose and the member id, when the mac is
    /// genuine for that member's current address (`email_of`). Case does not matter (some
    /// relays lower-case addresses); only the id as [`Secret::verp_local`] writes it and
    /// the whole mac verify, so a truncated or altered address names nobody.
    pub fn verp_verify(
        &self,
        local_part: &str,
        email_of: impl FnOnce(i64) -> Option<String>,
    ) -> Option<(VerpPurpose, i64)> {
        let local = local_part.to_ascii_lowercase();
        let (prefix, rest) = local.split_once('+')?;
        let purpose = [VerpPurpose::Bounces, VerpPurpose::Unsubscribe]
            .into_iter()
            .find(|p| p.prefix() == prefix)?;
        let (id_text, mac) = rest.split_once('-')?;
        let id: i64 = id_text.parse().ok()?;
        if id.to_string() != id_text {
            return None;
        }
        let email = email_of(id)?;
        let expected = self.verp_mac(purpose, id, &email);
        same_text(&expected, mac).then_some((purpose, id))
    }

    fn verp_mac(&self, purpose: VerpPurpose, member_id: i64, email: &str) -> String {
        let mut m = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable_key());
        m.update(format!("verp:{}:{member_id}:{email}", purpose.prefix()).as_bytes());
        m.finalize().into_bytes()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// The editor's desk (issue #15): sign-in links, draft ids in URLs, sessions and CSRF
/// tokens. Each MAC is over its own label, so no kind of token passes for another.
impl Secret {
    /// The token of an editor's sign-in link: `<link id>.<mac over
    /// "editor-signin:<id>:<email>">` (its expiry and single use are the stored row's).
    pub fn signin_token(&self, link_id: i64, email: &str) -> String {
        format!(
            "{link_id}.{}",
            self.mac_of(&format!("editor-signin:{link_id}:{email}"))
        )
    }

    /// The link id a sign-in token names, when genuine for that link's address.
    pub fn verify_signin(
        &self,
        token: &str,
        email_of: impl FnOnce(i64) -> Option<String>,
    ) -> Option<i64> {
        let (id, mac) = canonical_id_and_mac(token)?;
        let email = email_of(id)?;
        same_text(&self.mac_of(&format!("editor-signin:{id}:{email}")), mac).then_some(id)
    }

    /// A draft as its review page's URL names it: `<draft id>.<mac>`, so a draft id from
    /// another brief (another secret), or one made up, names nothing here.
    pub fn draft_key(&self, draft_id: i64) -> String {
        format!("{draft_id}.{}", self.mac_of(&format!("draft:{draft_id}")))
    }

    /// The draft id a review URL's key names, when genuine.
    pub fn verify_draft_key(&self, key: &str) -> Option<i64> {
        let (id, mac) = canonical_id_and_mac(key)?;
        same_text(&self.mac_of(&format!("draft:{id}")), mac).then_some(id)
    }

    /// The CSRF token of every form of the session whose cookie hashes to `session_hash`.
    pub fn csrf_token(&self, session_hash: &str) -> String {
        self.mac_of(&format!("csrf:{session_hash}"))
    }

    /// Whether `given` is the CSRF token of the session hashing to `session_hash`.
    pub fn verify_csrf(&self, session_hash: &str, given: &str) -> bool {
        same_text(&self.csrf_token(session_hash), given)
    }
}

/// `<id>.<mac>` split, with the id written only as [`Secret`] writes it (`7`, not `07`).
fn canonical_id_and_mac(token: &str) -> Option<(i64, &str)> {
    let (id_text, mac) = token.split_once('.')?;
    let id: i64 = id_text.parse().ok()?;
    (id.to_string() == id_text).then_some((id, mac))
}

/// A new session's cookie value: 32 random bytes in hex.
pub fn new_session_value() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom_bytes(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// What the database keeps of a session's cookie value: its SHA-256 in hex, so a copy of
/// the database signs nobody in.
pub fn session_hash(value: &str) -> String {
    use sha2::Digest;
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// HMAC accepts keys of any length, so `new_from_slice` cannot fail.
fn unreachable_key() -> hmac::Hmac<Sha256> {
    unreachable!("HMAC takes keys of any length")
}

/// Fills `buf` from the operating system's random source.
fn getrandom_bytes(buf: &mut [u8]) -> anyhow::Result<()> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .context("reading /dev/urandom for a new secret")
}

/// Creates `path` holding `bytes`, readable only by its owner, all or nothing: the bytes go
/// to a temporary file first, which is then hard-linked to `path` (a link never replaces an
/// existing file). Returns false when `path` already existed, leaving it untouched.
fn create_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.{}.{:?}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("secret"),
        std::process::id(),
        std::thread::current().id()
    ));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let written = opts.open(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    let linked = written.and_then(|()| std::fs::hard_link(&tmp, path));
    // The temporary name goes whatever happened; `path` (if linked) keeps the content.
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_tokens_verify_only_for_their_own_kind_and_secret() {
        let s = Secret::from_bytes(b"0123456789abcdef0123456789abcdef");
        let other = Secret::from_bytes(b"another brief's secret, 32 bytes");
        let t = s.signin_token(7, "ann@example.org");
        assert_eq!(
            s.verify_signin(&t, |_| Some("ann@example.org".into())),
            Some(7)
        );
        assert_eq!(s.verify_signin(&t, |_| Some("bo@example.org".into())), None);
        assert_eq!(
            other.verify_signin(&t, |_| Some("ann@example.org".into())),
            None
        );
        assert_eq!(
            s.verify_signin(&t.replacen('7', "07", 1), |_| Some(
                "ann@example.org".into()
            )),
            None
        );
        let k = s.draft_key(3);
        assert_eq!(s.verify_draft_key(&k), Some(3));
        assert_eq!(other.verify_draft_key(&k), None, "another brief's draft id");
        assert_eq!(s.verify_draft_key(&k.replacen('3', "4", 1)), None);
        assert_eq!(s.verify_draft_key("3"), None);
        let h = session_hash("cookie");
        assert!(s.verify_csrf(&h, &s.csrf_token(&h)));
        assert!(!s.verify_csrf(&session_hash("other"), &s.csrf_token(&h)));
        assert!(!s.verify_csrf(&h, ""));
        let v = new_session_value().expect("random");
        assert_eq!(v.len(), 64);
        assert_ne!(v, new_session_value().expect("random"));
    }

    #[test]
    fn token_verifies_only_for_its_member() {
        let s = Secret::from_bytes(b"0123456789abcdef0123456789abcdef");
        let t = s.token(7, "a@example.org");
        assert_eq!(s.verify(&t, |_| Some("a@example.org".into())), Some(7));
        assert_eq!(s.verify(&t, |_| Some("b@example.org".into())), None);
        let forged = format!("8{}", &t[1..]);
        assert_eq!(s.verify(&forged, |_| Some("a@example.org".into())), None);
        let other = Secret::from_bytes(b"another secret of thirty-two b!!");
        assert_eq!(other.verify(&t, |_| Some("a@example.org".into())), None);
    }

    #[test]
    fn signup_token_verifies_only_for_its_signup_and_never_as_a_member_token() {
        let s = Secret::from_bytes(b"0123456789abcdef0123456789abcdef");
        let t = s.signup_token(7, "a@example.org");
        assert_eq!(
            s.verify_signup(&t, |_| Some("a@example.org".into())),
            Some(7)
        );
        assert_eq!(s.verify_signup(&t, |_| Some("b@example.org".into())), None);
        assert_eq!(
            s.verify_signup(&format!("0{t}"), |_| Some("a@example.org".into())),
            None
        );
        // A member's unsubscribe token for the same id and address is another token.
        let member = s.token(7, "a@example.org");
        assert_ne!(member, t);
        assert_eq!(
            s.verify_signup(&member, |_| Some("a@example.org".into())),
            None
        );
        assert_eq!(s.verify(&t, |_| Some("a@example.org".into())), None);
    }

    #[test]
    fn click_signature_verifies_only_for_its_digest_story_and_member() {
        let s = Secret::from_bytes(b"0123456789abcdef0123456789abcdef");
        let sig = s.click_sig(3, 40, None);
        assert_eq!(sig.len(), 32);
        assert_eq!(s.verify_click(3, 40, &sig), Some(None));
        // Another story, another digest, a member added: not genuine.
        assert_eq!(s.verify_click(3, 41, &sig), None);
        assert_eq!(s.verify_click(4, 40, &sig), None);
        assert_eq!(s.verify_click(3, 40, &format!("7.{sig}")), None);
        // Truncated, extended, one character changed, empty.
        assert_eq!(s.verify_click(3, 40, &sig[..31]), None);
        assert_eq!(s.verify_click(3, 40, &format!("{sig}0")), None);
        let flipped: String = sig
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i == 5 {
                    if c == 'a' { 'b' } else { 'a' }
                } else {
                    c
                }
            })
            .collect();
        assert_eq!(s.verify_click(3, 40, &flipped), None);
        assert_eq!(s.verify_click(3, 40, ""), None);
        // Another secret's signature.
        let other = Secret::from_bytes(b"another secret of thirty-two b!!");
        assert_eq!(s.verify_click(3, 40, &other.click_sig(3, 40, None)), None);
        // A member's link names them, and only in the canonical form.
        let member = s.click_sig(3, 40, Some(7));
        assert!(member.starts_with("7."));
        assert_eq!(s.verify_click(3, 40, &member), Some(Some(7)));
        assert_eq!(s.verify_click(3, 40, &format!("0{member}")), None);
        assert_eq!(s.verify_click(3, 40, &member.replacen("7.", "8.", 1)), None);
    }

    #[test]
    fn verp_address_names_its_member_and_a_forged_or_truncated_mac_names_nobody() {
        let s = Secret::from_bytes(b"0123456789abcdef0123456789abcdef");
        let email = |_| Some("a@example.org".to_string());
        let local = s.verp_local(VerpPurpose::Bounces, 7, "a@example.org");
        assert!(local.starts_with("bounces+7-"), "{local}");
        assert_eq!(
            s.verp_verify(&local, email),
            Some((VerpPurpose::Bounces, 7))
        );
        // A relay that upper-cases the address changes nothing.
        assert_eq!(
            s.verp_verify(&local.to_ascii_uppercase(), email),
            Some((VerpPurpose::Bounces, 7))
        );
        let unsub = s.verp_local(VerpPurpose::Unsubscribe, 7, "a@example.org");
        assert_eq!(
            s.verp_verify(&unsub, email),
            Some((VerpPurpose::Unsubscribe, 7))
        );
        // The purpose is signed: a bounce address turned into an unsubscribe one fails.
        let swapped = local.replacen("bounces", "unsubscribe", 1);
        assert_eq!(s.verp_verify(&swapped, email), None);
        let (head, mac) = local.rsplit_once('-').expect("mac");
        let flipped = format!(
            "{head}-{}{}",
            &mac[..mac.len() - 1],
            if mac.ends_with('0') { '1' } else { '0' }
        );
        for forged in [
            format!("{head}-{}", &mac[..mac.len() - 1]),
            format!("{head}-"),
            head.to_string(),
            flipped,
            format!("bounces+8-{mac}"),
            format!("bounces+07-{mac}"),
            format!("{local}0"),
        ] {
            assert_eq!(s.verp_verify(&forged, email), None, "{forged}");
        }
        // Another member's address, or another secret, does not verify.
        assert_eq!(
            s.verp_verify(&local, |_| Some("b@example.org".into())),
            None
        );
        let other = Secret::from_bytes(b"another secret of thirty-two b!!");
        assert_eq!(other.verp_verify(&local, email), None);
        assert_eq!(s.verp_verify(&local, |_| None), None);
    }

    #[test]
    fn only_the_canonical_decimal_member_id_verifies() {
        let s = Secret::from_bytes(b"0123456789abcdef0123456789abcdef");
        let t = s.token(2, "a@example.org");
        let mac = t.strip_prefix("2.").expect("id prefix");
        assert_eq!(s.verify(&t, |_| Some("a@example.org".into())), Some(2));
        for id in ["02", "+2", "002", " 2", "2 ", "-0", ""] {
            let variant = format!("{id}.{mac}");
            assert_eq!(
                s.verify(&variant, |_| Some("a@example.org".into())),
                None,
                "{variant:?} must not verify"
            );
        }
    }

    #[test]
    fn concurrent_first_runs_all_get_the_same_complete_secret() {
        // Several rounds, each with a fresh directory and eight creators released at once.
        for _ in 0..20 {
            let dir = tempfile::tempdir().expect("tempdir");
            let data = dir.path().join("data");
            let start = std::sync::Arc::new(std::sync::Barrier::new(8));
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let data = data.clone();
                    let start = std::sync::Arc::clone(&start);
                    std::thread::spawn(move || {
                        start.wait();
                        Secret::load_or_create(&data).map(|s| s.tag("probe"))
                    })
                })
                .collect();
            let tags: Vec<String> = handles
                .into_iter()
                .map(|h| h.join().expect("thread").expect("load_or_create"))
                .collect();
            assert!(tags.iter().all(|t| *t == tags[0]), "{tags:?}");
            let on_disk = std::fs::read(data.join("secret")).expect("secret file");
            assert_eq!(Secret(on_disk).tag("probe"), tags[0]);
            // No temporary file is left beside it.
            let names: Vec<_> = std::fs::read_dir(&data)
                .expect("dir")
                .map(|e| e.expect("entry").file_name())
                .collect();
            assert_eq!(names, vec![std::ffi::OsString::from("secret")]);
        }
    }

    #[test]
    fn generated_secret_is_private_and_stable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = Secret::load_or_create(dir.path()).expect("create");
        let b = Secret::load_or_create(dir.path()).expect("reload");
        assert_eq!(a.token(1, "x@example.org"), b.token(1, "x@example.org"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secret"))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
