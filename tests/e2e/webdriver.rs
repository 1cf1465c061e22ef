//! A small W3C WebDriver client over reqwest and serde_json, for the browser tests: starts
//! Debian's `chromedriver` on a loopback port, opens headless Chromium sessions, and
//! navigates, finds elements by CSS, types, clicks and reads pages. Every wait is bounded;
//! a session is deleted and chromedriver stopped when dropped, even by a failing test.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// The key W3C WebDriver names an element reference by.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long one WebDriver command may take (a page load included).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// `chromedriver` on the PATH (or Debian's place for it), when installed.
pub(crate) fn chromedriver() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("chromedriver"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let debian = Path::new("/usr/bin/chromedriver");
        debian.is_file().then(|| debian.to_path_buf())
    })
}

/// A running chromedriver, stopped on drop.
pub(crate) struct Driver {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    /// Starts `binary` on a free loopback port and waits (at most 20 s) until it is ready.
    pub(crate) async fn start(binary: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let http = reqwest::Client::builder()
            .timeout(COMMAND_TIMEOUT)
            .build()
            .expect("client");
        let driver = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http,
        };
        for _ in 0..200 {
            let ready = driver
                .http
                .get(format!("{}/status", driver.base))
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success());
            if ready.is_some() {
                return driver;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not answer within 20 s");
    }

    /// A new headless Chromium session with a window of `width` × `height` CSS pixels.
    pub(crate) async fn session(&self, width: u32, height: u32) -> Session {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                format!("--window-size={width},{height}"),
            ]}
        }}});
        let v = call(
            &self.http,
            reqwest::Method::POST,
            &format!("{}/session", self.base),
            Some(caps),
        )
        .await;
        let id = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {v}"))
            .to_string();
        Session {
            http: self.http.clone(),
            url: format!("{}/session/{id}", self.base),
            deleted: false,
        }
    }
}

/// `req` with `body` as its JSON body (reqwest is built here without its `json` feature).
fn with_json(req: reqwest::RequestBuilder, body: &Value) -> reqwest::RequestBuilder {
    req.header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
}

/// One WebDriver command; its `value`, or a panic naming the error.
async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Value {
    let mut req = http.request(method.clone(), url);
    let body = match body {
        Some(b) => Some(b),
        None if method == reqwest::Method::POST => Some(json!({})),
        None => None,
    };
    if let Some(b) = body {
        req = with_json(req, &b);
    }
    let r = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = r.status();
    let bytes = r
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let v: Value =
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{method} {url}: not JSON: {e}"));
    assert!(status.is_success(), "{method} {url}: {status}: {v}");
    v["value"].clone()
}

/// A browser session, deleted on drop.
pub(crate) struct Session {
    http: reqwest::Client,
    url: String,
    deleted: bool,
}

/// An element of the current page.
pub(crate) struct Element<'a> {
    session: &'a Session,
    id: String,
}

impl Session {
    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        call(&self.http, method, &format!("{}{path}", self.url), body).await
    }

    /// Opens `url` and waits for it to load.
    pub(crate) async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    /// The current URL.
    pub(crate) async fn current_url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The current page's source.
    pub(crate) async fn source(&self) -> String {
        self.cmd(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The page's source once it contains `text` (a form's answer has loaded), waiting at
    /// most 15 s: a click that submits a form may return before the next page is in.
    pub(crate) async fn source_with(&self, text: &str) -> String {
        for _ in 0..150 {
            let source = self.source().await;
            if source.contains(text) {
                return source;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no {text:?} within 15 s in {}", self.source().await)
    }

    /// The first element matching `css`, waiting for it at most 10 s.
    pub(crate) async fn find(&self, css: &str) -> Element<'_> {
        for _ in 0..100 {
            let r = with_json(
                self.http.post(format!("{}/element", self.url)),
                &json!({"using": "css selector", "value": css}),
            )
            .send()
            .await
            .expect("find element");
            if r.status().is_success() {
                let v: Value =
                    serde_json::from_slice(&r.bytes().await.expect("body")).expect("json");
                let id = v["value"][ELEMENT_KEY]
                    .as_str()
                    .expect("an element reference")
                    .to_string();
                return Element { session: self, id };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no element {css:?} within 10 s in {}", self.source().await)
    }

    /// Runs `script` (a function body) in the page and returns its result.
    pub(crate) async fn script(&self, script: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// A PNG screenshot of the viewport.
    pub(crate) async fn screenshot(&self) -> Vec<u8> {
        let b64 = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        super::base64_decode(b64.as_str().unwrap_or_default())
    }

    /// Resizes the window to `width` × `height`.
    pub(crate) async fn resize(&self, width: u32, height: u32) {
        self.cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await;
    }

    /// Ends the session (closing the browser).
    pub(crate) async fn quit(mut self) {
        self.deleted = true;
        call(&self.http, reqwest::Method::DELETE, &self.url, None).await;
    }
}

impl Drop for Session {
    /// A test that failed half-way still closes its browser: a plain blocking DELETE over
    /// loopback, bounded by timeouts (an async client cannot run in `drop`).
    fn drop(&mut self) {
        if self.deleted {
            return;
        }
        let Some(rest) = self.url.strip_prefix("http://") else {
            return;
        };
        let Some((host, path)) = rest.split_once('/') else {
            return;
        };
        if let Ok(mut s) = std::net::TcpStream::connect(host) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = s.set_write_timeout(Some(Duration::from_secs(10)));
            let _ = write!(
                s,
                "DELETE /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink);
        }
    }
}

impl Element<'_> {
    fn path(&self, what: &str) -> String {
        format!("/element/{}/{what}", self.id)
    }

    /// Types `text` into the element.
    pub(crate) async fn send_keys(&self, text: &str) {
        self.session
            .cmd(
                reqwest::Method::POST,
                &self.path("value"),
                Some(json!({"text": text})),
            )
            .await;
    }

    /// Empties an input or text area.
    pub(crate) async fn clear(&self) {
        self.session
            .cmd(reqwest::Method::POST, &self.path("clear"), None)
            .await;
    }

    /// Clicks the element (a form's button submits it and the next page loads).
    pub(crate) async fn click(&self) {
        self.session
            .cmd(reqwest::Method::POST, &self.path("click"), None)
            .await;
    }
}
