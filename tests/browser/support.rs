//! The browser suite's harness: the built `keyward` binary on SQLite in a temporary
//! directory, chromedriver on a port of its own, headless Chromium sessions (JavaScript on
//! or off), seeding through the HTTP and OpenKJ APIs, polling with a deadline and
//! screenshots of every page at phone and desktop width.

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Once, mpsc};
use std::time::{Duration, Instant};

use fantoccini::error::{CmdError, ErrorStatus};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use keyward_http::auth::{ActiveContext, Claims, JwtSecret, JwtSigner};
use serde_json::{Value, json};

const SECRET: &str = "browser test secret, thirty-two bytes or more";

/// How long any wait may take: the page, an element, a condition. Generous for a loaded
/// two-core CI machine; a passing run waits a fraction of it.
pub const WAIT: Duration = Duration::from_secs(20);
/// How often a condition is looked at again while waiting.
const POLL: Duration = Duration::from_millis(50);

/// A phone (iPhone 12–15 class) and a laptop.
pub const PHONE: (u32, u32) = (390, 844);
pub const DESKTOP: (u32, u32) = (1280, 900);

/// One browser test at a time: each starts its own server and Chromium, and two of them
/// side by side on a two-core machine would only make both slower and their waits longer.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What a test needs: the server, chromedriver, an HTTP client and a customer with an
/// OpenKJ key. Dropping it stops both processes.
pub struct Env {
    pub api: Api,
    driver: Chromedriver,
    chromium: PathBuf,
    keyward: Keyward,
    dir: tempfile::TempDir,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

/// Whether a session runs the pages' JavaScript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Js {
    On,
    Off,
}

impl Env {
    /// Everything started, or `None` (after a loud `SKIPPED` line) when Chromium or
    /// chromedriver is not installed and `CI` is not set.
    ///
    /// # Panics
    /// When they are missing and `CI` is set, or anything fails to start.
    pub async fn start() -> Option<Self> {
        let (chromium, chromedriver) = match (
            find_program("KEYWARD_TEST_CHROMIUM", &["chromium", "chromium-browser"]),
            find_program("KEYWARD_TEST_CHROMEDRIVER", &["chromedriver"]),
        ) {
            (Some(chromium), Some(chromedriver)) => (chromium, chromedriver),
            (chromium, chromedriver) => {
                let missing: Vec<&str> = [
                    chromium.is_none().then_some("chromium"),
                    chromedriver.is_none().then_some("chromedriver"),
                ]
                .into_iter()
                .flatten()
                .collect();
                let message = format!(
                    "the browser tests need {} (Debian: apt-get install chromium \
                     chromium-driver; or set KEYWARD_TEST_CHROMIUM / \
                     KEYWARD_TEST_CHROMEDRIVER)",
                    missing.join(" and ")
                );
                assert!(std::env::var_os("CI").is_none(), "{message}");
                shout(&format!("\n**** SKIPPED: {message} ****\n"));
                return None;
            }
        };
        let turn = ONE_AT_A_TIME.lock().await;
        let dir = tempfile::Builder::new()
            .prefix("keyward-browser-")
            .tempdir()
            .expect("create a temporary directory");
        let keyward = Keyward::start(dir.path());
        let driver = Chromedriver::start(&chromedriver);
        driver.wait_until_ready().await;
        let api = Api::new(&keyward.address).await;
        Some(Self {
            api,
            driver,
            chromium,
            keyward,
            dir,
            _turn: turn,
        })
    }

    /// The server's base URL, e.g. `http://127.0.0.1:41234`.
    pub fn base(&self) -> &str {
        &self.keyward.address
    }

    /// Runs `keyward <args>` as an operator would next to the running server (same
    /// directory, database and secret) and returns its stdout; panics with its stderr
    /// unless it succeeds.
    pub async fn keyward(&self, args: &[&str]) -> String {
        let mut command = keyward_command(self.dir.path());
        command.args(args);
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .expect("wait for keyward")
            .unwrap_or_else(|e| panic!("run keyward {args:?}: {e}"));
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "keyward {args:?}: {}\nstdout: {stdout}\nstderr: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }

    /// A new headless Chromium at phone size whose screenshots are named after
    /// `scenario`.
    pub async fn browser(&self, js: Js, scenario: &str) -> Browser {
        let mut options = json!({
            "binary": self.chromium,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                // The window; the page's viewport is set by `Browser::emulate`.
                format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
                // Quiet and deterministic: no first-run UI, no network of its own.
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--lang=en-US",
            ],
        });
        if js == Js::Off {
            options["prefs"] = json!({"profile.managed_default_content_settings.javascript": 2});
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert("goog:chromeOptions".into(), options);
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.driver.url)
            .await
            .unwrap_or_else(|e| panic!("chromedriver did not open a Chromium session: {e}"));
        // Chromium's own process id: if the test fails before `close`, Drop ends it (it
        // outlives chromedriver otherwise).
        let pid = client
            .capabilities()
            .and_then(|c| c.get("goog:processID"))
            .and_then(Value::as_u64)
            .and_then(|pid| u32::try_from(pid).ok());
        let session = client
            .session_id()
            .await
            .expect("the session id")
            .expect("an open session");
        let browser = Browser {
            client,
            cdp_url: format!("{}/session/{session}/goog/cdp/execute", self.driver.url),
            http: self.api.http.clone(),
            pid,
            closed: false,
            base: self.keyward.address.clone(),
            scenario: scenario.to_owned(),
            step: 0,
            js,
        };
        browser.check_javascript_is(js).await;
        browser.emulate(PHONE, true).await;
        browser
    }
}

/// A failing test shows the end of the server's log (its JSON lines) under the panic.
impl Drop for Env {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let lines: Vec<String> = self.keyward.lines.try_iter().collect();
            let tail = &lines[lines.len().saturating_sub(40)..];
            eprintln!("keyward's last log lines:\n{}", tail.join("\n"));
        }
    }
}

/// The file `KEYWARD_TEST_…` names when set, else the first of `names` on `PATH`, then
/// in `/usr/bin`.
fn find_program(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    dirs.push(PathBuf::from("/usr/bin"));
    names
        .iter()
        .flat_map(|name| dirs.iter().map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// A running `keyward serve` and the address it announced.
struct Keyward {
    child: Child,
    address: String,
    lines: mpsc::Receiver<String>,
}

/// The `keyward` binary in `dir`, configured for its SQLite database there and the test
/// secret: `serve` and the operator's commands (`dashboard-link`) see the same service.
fn keyward_command(dir: &Path) -> Command {
    let database_url = format!("sqlite://{}", dir.join("keyward.db").display());
    let mut command = Command::new(env!("CARGO_BIN_EXE_keyward"));
    command
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("KEYWARD_CONFIG")
        .env("KEYWARD__DATABASE__URL", database_url)
        .env("KEYWARD__AUTH__JWT_SECRET", SECRET)
        .env("KEYWARD__LOG__FORMAT", "json");
    command
}

impl Keyward {
    fn start(dir: &Path) -> Self {
        let mut child = keyward_command(dir)
            .arg("serve")
            .env("KEYWARD__SERVER__PORT", "0")
            .env("KEYWARD__SERVER__WORKERS", "2")
            // One address (127.0.0.1) does everything here: searching as the singer types
            // and every scenario's submissions would run into the per-address budgets,
            // which are not what these tests check.
            .env("KEYWARD__PUBLIC__READS_PER_MINUTE", "100000")
            .env("KEYWARD__PUBLIC__SUBMISSIONS_PER_MINUTE", "100000")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the keyward binary");
        let stderr = child.stderr.take().expect("keyward's stderr");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = Vec::new();
        let mut announced = None;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Ok(line) = lines.recv_timeout(left) else {
                break;
            };
            if let Ok(event) = serde_json::from_str::<Value>(&line)
                && event["message"] == "keyward is listening"
            {
                announced = event["address"].as_str().map(str::to_owned);
                break;
            }
            seen.push(line);
        }
        let Some(address) = announced else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "keyward did not announce its address; it said:\n{}",
                seen.join("\n")
            );
        };
        Self {
            child,
            address,
            lines,
        }
    }
}

impl Drop for Keyward {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// chromedriver on a port it picked itself (`--port=0`, read from its first lines).
struct Chromedriver {
    child: Child,
    url: String,
}

impl Chromedriver {
    fn start(program: &Path) -> Self {
        let mut child = Command::new(program)
            .args(["--port=0", "--log-level=WARNING"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
        let stdout = child.stdout.take().expect("chromedriver's stdout");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            // Read to the end so chromedriver never blocks on a full pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
        // "ChromeDriver was started successfully on port 45013."
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        let mut port = None;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Ok(line) = lines.recv_timeout(left) else {
                break;
            };
            if let Some(rest) = line.split(" on port ").nth(1)
                && line.contains("started successfully")
            {
                port = rest.trim_end_matches('.').trim().parse::<u16>().ok();
                break;
            }
            seen.push(line);
        }
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromedriver did not say which port it listens on; it said:\n{}",
                seen.join("\n")
            );
        };
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Polls `/status` until it says `ready` (or the deadline passes).
    async fn wait_until_ready(&self) {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("an HTTP client");
        let status_url = format!("{}/status", self.url);
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last = String::from("no answer yet");
        while Instant::now() < deadline {
            match http.get(&status_url).send().await {
                Ok(answer) => {
                    let body = answer.text().await.unwrap_or_default();
                    if serde_json::from_str::<Value>(&body)
                        .is_ok_and(|status| status["value"]["ready"] == json!(true))
                    {
                        return;
                    }
                    last = body;
                }
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(POLL).await;
        }
        panic!("chromedriver at {} was not ready in time: {last}", self.url);
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One Chromium session. `close` ends it; a test that fails before that leaves it to
/// Drop, which ends Chromium by its process id.
pub struct Browser {
    client: Client,
    /// chromedriver's URL of this session, for the Chrome `DevTools` commands `WebDriver`
    /// has no word for (`…/goog/cdp/execute`).
    cdp_url: String,
    http: reqwest::Client,
    pid: Option<u32>,
    closed: bool,
    base: String,
    scenario: String,
    step: u32,
    js: Js,
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.closed
            && let Some(pid) = self.pid
        {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
}

impl Browser {
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Ends the session (and Chromium with it).
    pub async fn close(mut self) {
        let client = self.client.clone();
        self.closed = true;
        client.close().await.expect("close the browser session");
    }

    /// Proves the session runs (or does not run) page scripts: a `data:` page whose
    /// script renames it.
    async fn check_javascript_is(&self, js: Js) {
        self.client
            .goto(
                "data:text/html,%3Ctitle%3Eoff%3C%2Ftitle%3E%3Cscript%3Edocument.title%3D%22on%22%3C%2Fscript%3E",
            )
            .await
            .expect("open a data: page");
        let title = self.client.title().await.expect("the data: page's title");
        let expected = match js {
            Js::On => "on",
            Js::Off => "off",
        };
        assert_eq!(
            title, expected,
            "JavaScript should be {js:?} in this session"
        );
    }

    /// Opens `path` on the server (waits for the load, as `WebDriver` does).
    pub async fn open(&mut self, path: &str) {
        let url = format!("{}{path}", self.base);
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// The current URL.
    pub async fn url(&self) -> reqwest::Url {
        self.client.current_url().await.expect("the current URL")
    }

    /// Waits for an element matching `css`.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .every(POLL)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!(
                "no `{css}` on {} within {WAIT:?}: {e}",
                self.location().await
            ),
        }
    }

    /// Every element matching `css` now (possibly none).
    pub async fn find_all(&self, css: &str) -> Vec<fantoccini::elements::Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("look for `{css}`: {e}"))
    }

    /// Whether something matches `css` now.
    pub async fn exists(&self, css: &str) -> bool {
        !self.find_all(css).await.is_empty()
    }

    /// Whether something matching `css` is shown now (present and not hidden).
    pub async fn visible(&self, css: &str) -> bool {
        for element in self.find_all(css).await {
            if element
                .is_displayed()
                .await
                .unwrap_or_else(|e| panic!("is `{css}` displayed: {e}"))
            {
                return true;
            }
        }
        false
    }

    /// The text of the (awaited) element matching `css`, as rendered.
    pub async fn text(&self, css: &str) -> String {
        self.find(css)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("the text of `{css}`: {e}"))
    }

    /// `textContent` of the element matching `css` (exact, not whitespace-collapsed).
    pub async fn text_content(&self, css: &str) -> String {
        self.find(css)
            .await
            .prop("textContent")
            .await
            .unwrap_or_else(|e| panic!("the textContent of `{css}`: {e}"))
            .unwrap_or_default()
    }

    /// An attribute of the (awaited) element matching `css`.
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.find(css)
            .await
            .attr(name)
            .await
            .unwrap_or_else(|e| panic!("attribute {name} of `{css}`: {e}"))
    }

    /// A property (e.g. a field's current `value`) of the element matching `css`.
    pub async fn prop(&self, css: &str, name: &str) -> Option<String> {
        self.find(css)
            .await
            .prop(name)
            .await
            .unwrap_or_else(|e| panic!("property {name} of `{css}`: {e}"))
    }

    /// Clicks the (awaited) element matching `css`.
    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click `{css}`: {e}"));
    }

    /// Types `text` into the (awaited) element matching `css`.
    pub async fn type_into(&self, css: &str, text: &str) {
        self.find(css)
            .await
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into `{css}`: {e}"));
    }

    /// Runs a script in the page (JavaScript sessions only).
    pub async fn script(&self, source: &str) -> Value {
        assert_eq!(self.js, Js::On, "scripts run only with JavaScript on");
        self.client
            .execute(source, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("run `{source}`: {e}"))
    }

    /// Polls `check` until it returns `Some`, for at most [`WAIT`]; panics naming `what`
    /// and the page otherwise. A stale or vanished element (the page changed under the
    /// check) counts as "not yet".
    pub async fn eventually<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut(Client) -> Fut,
        Fut: Future<Output = Result<Option<T>, CmdError>>,
    {
        let deadline = Instant::now() + WAIT;
        loop {
            match check(self.client.clone()).await {
                Ok(Some(value)) => return value,
                Ok(None) => {}
                // The page changed under the check (a navigation, a re-rendered list):
                // look again.
                Err(CmdError::Standard(e))
                    if matches!(
                        e.error,
                        ErrorStatus::StaleElementReference | ErrorStatus::NoSuchElement
                    ) => {}
                Err(e) => panic!("while waiting for {what} on {}: {e}", self.location().await),
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not within {WAIT:?} on {}",
                self.location().await
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the browser shows a page whose path is `path` (query ignored).
    pub async fn wait_for_path(&self, path: &str) -> reqwest::Url {
        let path = path.to_owned();
        self.eventually(&format!("a page at {path}"), move |client| {
            let path = path.clone();
            async move {
                let url = client.current_url().await?;
                Ok((url.path() == path).then_some(url))
            }
        })
        .await
    }

    /// The texts of every `li.song` (`.artist`, `.title`) in `ol#results`, waiting for
    /// `ready` to accept them.
    pub async fn results_when(
        &self,
        what: &str,
        ready: impl Fn(&[(String, String)]) -> bool,
    ) -> Vec<(String, String)> {
        self.eventually(what, |client| {
            let ready = &ready;
            async move {
                let mut songs = Vec::new();
                for li in client
                    .find_all(Locator::Css("ol#results > li.song"))
                    .await?
                {
                    let artist = li.find(Locator::Css(".artist")).await?.text().await?;
                    let title = li.find(Locator::Css(".title")).await?.text().await?;
                    songs.push((artist, title));
                }
                Ok(ready(&songs).then_some(songs))
            }
        })
        .await
    }

    /// Chooses the `<option>` whose value is `value` in the (awaited) `select` matching
    /// `css`.
    pub async fn select(&self, css: &str, value: &str) {
        self.find(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("choose {value:?} in `{css}`: {e}"));
    }

    /// Waits until the text of the element matching `css` satisfies `ready`, and returns
    /// it.
    pub async fn text_when(&self, css: &str, ready: impl Fn(&str) -> bool) -> String {
        let css_owned = css.to_owned();
        self.eventually(&format!("the text of `{css}`"), |client| {
            let (css, ready) = (css_owned.clone(), &ready);
            async move {
                let text = client.find(Locator::Css(&css)).await?.text().await?;
                Ok(ready(&text).then_some(text))
            }
        })
        .await
    }

    /// Waits for a JavaScript dialog (`confirm()`), answers it (`accept`: OK, else
    /// Cancel) and returns its text.
    pub async fn answer_dialog(&self, accept: bool) -> String {
        let text = self
            .eventually("a dialog", |client| async move {
                match client.get_alert_text().await {
                    Ok(text) => Ok(Some(text)),
                    Err(CmdError::Standard(e)) if e.error == ErrorStatus::NoSuchAlert => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .await;
        let answered = if accept {
            self.client.accept_alert().await
        } else {
            self.client.dismiss_alert().await
        };
        answered.unwrap_or_else(|e| panic!("answer the dialog {text:?}: {e}"));
        text
    }

    /// Lets this server's pages read the clipboard, so a test can check what a Copy
    /// button put there (a click may write it without this; reading is refused unless
    /// granted, as headless Chromium has nobody to ask).
    pub async fn grant_clipboard(&self) {
        self.cdp(
            "Browser.grantPermissions",
            json!({
                "origin": self.base,
                "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"],
            }),
        )
        .await;
    }

    /// Whether a JavaScript dialog (alert, confirm, prompt) is open.
    pub async fn alert_open(&self) -> Option<String> {
        match self.client.get_alert_text().await {
            Ok(text) => Some(text),
            Err(CmdError::Standard(e)) if e.error == ErrorStatus::NoSuchAlert => None,
            Err(e) => panic!("ask for an open alert: {e}"),
        }
    }

    /// Screenshots of the page as it is, at phone and at desktop width, named
    /// `<scenario>-<step>-<name>-{phone,desktop}.png`; the page is back at phone size
    /// afterwards.
    pub async fn screenshot(&mut self, name: &str) {
        self.step += 1;
        let dir = screenshot_dir();
        for (label, size, mobile) in [("phone", PHONE, true), ("desktop", DESKTOP, false)] {
            self.emulate(size, mobile).await;
            let png = self
                .client
                .screenshot()
                .await
                .unwrap_or_else(|e| panic!("screenshot of {name}: {e}"));
            let file = dir.join(format!(
                "{}-{:02}-{name}-{label}.png",
                self.scenario, self.step
            ));
            std::fs::write(&file, png).unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
        }
        self.emulate(PHONE, true).await;
    }

    /// Makes the viewport exactly `width`×`height` CSS pixels (the window's own size
    /// includes room for browser UI even when headless), as a phone (`mobile`: the page's
    /// `<meta name="viewport">` counts) or a desktop. Holds across navigations.
    async fn emulate(&self, (width, height): (u32, u32), mobile: bool) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        )
        .await;
    }

    /// One Chrome `DevTools` Protocol command in this session's page.
    async fn cdp(&self, command: &str, params: Value) -> Value {
        let answer = self
            .http
            .post(&self.cdp_url)
            .json(&json!({"cmd": command, "params": params}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{command}: {e}"));
        let status = answer.status();
        let body: Value = answer
            .json()
            .await
            .unwrap_or_else(|e| panic!("{command}: {e}"));
        assert!(status.is_success(), "{command}: {status} {body}");
        body
    }

    /// "<URL> (<scenario> browser)", for failure messages.
    async fn location(&self) -> String {
        let url = self
            .client
            .current_url()
            .await
            .map_or_else(|e| format!("(no URL: {e})"), |url| url.to_string());
        format!("{url} ({} browser)", self.scenario)
    }
}

/// `$CARGO_TARGET_TMPDIR/browser-screenshots`, emptied, created and announced once per
/// run (so it holds this run's pages only).
pub fn screenshot_dir() -> PathBuf {
    static ANNOUNCE: Once = Once::new();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
    ANNOUNCE.call_once(|| {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        shout(&format!("browser screenshots: {}", dir.display()));
    });
    dir
}

/// A line on stderr even when the test passes (the test harness captures `eprintln!`
/// and shows it only for failures; a direct write is not captured).
fn shout(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// A venue as the customer API returns it.
#[derive(Debug, Clone)]
pub struct Venue {
    pub openkj_venue_id: i64,
    pub url_name: String,
    pub name: String,
}

/// The customer's side: a token for the customer API and an OpenKJ key.
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    /// The customer the token acts for (its venues, its keys).
    pub customer: uuid::Uuid,
    bearer: String,
    okj_key: String,
}

impl Api {
    async fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(WAIT)
            .build()
            .expect("an HTTP client");
        let customer = uuid::Uuid::new_v4();
        let bearer = token(
            customer,
            &[
                "api_keys:read",
                "api_keys:write",
                "venues:read",
                "venues:write",
            ],
        );
        let created: Value = expect_json(
            http.post(format!("{base}/v1/customer/api-keys"))
                .bearer_auth(&bearer)
                .json(&json!({
                    "name": "OpenKJ (browser tests)",
                    "scopes": ["requests:write", "venues:write", "songdb:write", "songdb:read"],
                })),
            reqwest::StatusCode::CREATED,
        )
        .await;
        let okj_key = created["key"].as_str().expect("the new key").to_owned();
        Self {
            http,
            base: base.to_owned(),
            customer,
            bearer,
            okj_key,
        }
    }

    /// Creates a venue with this `urlName`, then switches requests on with a `PATCH` when
    /// `accepting`.
    pub async fn venue(&self, name: &str, url_name: &str, accepting: bool) -> Venue {
        let created = expect_json(
            self.http
                .post(format!("{}/v1/customer/venues", self.base))
                .bearer_auth(&self.bearer)
                .json(&json!({"name": name, "urlName": url_name})),
            reqwest::StatusCode::CREATED,
        )
        .await;
        let id = created["id"].as_str().expect("the venue's id").to_owned();
        if accepting {
            let patched = expect_json(
                self.http
                    .patch(format!("{}/v1/customer/venues/{id}", self.base))
                    .bearer_auth(&self.bearer)
                    .json(&json!({"acceptingRequests": true})),
                reqwest::StatusCode::OK,
            )
            .await;
            assert_eq!(patched["acceptingRequests"], json!(true), "{patched}");
        }
        Venue {
            openkj_venue_id: created["openkjVenueId"].as_i64().expect("openkjVenueId"),
            url_name: created["urlName"].as_str().expect("urlName").to_owned(),
            name: created["name"].as_str().expect("name").to_owned(),
        }
    }

    /// One OpenKJ command; its reply must say `error: false`.
    pub async fn openkj(&self, mut body: Value) -> Value {
        body["api_key"] = json!(self.okj_key);
        let reply = expect_json(
            self.http
                .post(format!("{}/openkj/api", self.base))
                .json(&body),
            reqwest::StatusCode::OK,
        )
        .await;
        assert!(
            reply["error"] == json!(false) || reply["error"] == json!("false"),
            "OpenKJ {}: {reply}",
            body["command"]
        );
        reply
    }

    /// Uploads songs to system 1 (every venue's song book here), as OpenKJ does.
    pub async fn add_songs(&self, songs: &[(String, String)]) {
        let songs: Vec<Value> = songs
            .iter()
            .map(|(artist, title)| json!({"artist": artist, "title": title}))
            .collect();
        self.openkj(json!({"command": "addSongs", "system_id": 1, "songs": songs}))
            .await;
    }

    /// What OpenKJ's `getRequests` lists for a venue: `(singer, artist, title,
    /// key_change)` in the order given.
    pub async fn requests(&self, venue: &Venue) -> Vec<(String, String, String, i64)> {
        let reply = self
            .openkj(json!({"command": "getRequests", "venue_id": venue.openkj_venue_id}))
            .await;
        reply["requests"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|r| {
                (
                    r["singer"].as_str().unwrap_or_default().to_owned(),
                    r["artist"].as_str().unwrap_or_default().to_owned(),
                    r["title"].as_str().unwrap_or_default().to_owned(),
                    r["key_change"].as_i64().unwrap_or_default(),
                )
            })
            .collect()
    }
}

async fn expect_json(request: reqwest::RequestBuilder, status: reqwest::StatusCode) -> Value {
    let response = request.send().await.expect("send the request");
    let got = response.status();
    let body = response.text().await.expect("read the answer");
    assert_eq!(got, status, "{body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// A customer-API token for `customer` with `permissions`, signed with the server's
/// secret, valid for an hour: what a customer pastes into the dashboard's sign-in form.
pub fn token(customer: uuid::Uuid, permissions: &[&str]) -> String {
    let now = jsonwebtoken::get_current_timestamp();
    JwtSigner::new(&JwtSecret::new(SECRET.as_bytes().to_vec()))
        .sign(&Claims {
            sub: "browser-test".into(),
            exp: now + 3600,
            nbf: None,
            iat: Some(now),
            active_context: Some(ActiveContext::customer(customer)),
            permissions: permissions.iter().map(|&p| p.to_owned()).collect(),
            iss: None,
            aud: None,
        })
        .expect("sign a token")
}

/// A song book of a few hundred songs: some well known ones the scenarios look for, 60
/// whose title says "Midnight" (three pages of results), and filler.
pub fn song_book() -> Vec<(String, String)> {
    let mut songs: Vec<(String, String)> = [
        ("ABBA", "Waterloo"),
        ("ABBA", "Dancing Queen"),
        ("Queen", "Bohemian Rhapsody"),
        ("Queen", "Don't Stop Me Now"),
        ("Journey", "Don't Stop Believin'"),
        ("Beyoncé", "Halo"),
        ("Céline Dion", "My Heart Will Go On"),
    ]
    .into_iter()
    .map(|(a, t)| (a.to_owned(), t.to_owned()))
    .collect();
    for i in 1..=60 {
        songs.push((
            format!("Night Owls {i:02}"),
            format!("Midnight Train No. {i:02}"),
        ));
    }
    let colours = [
        "Amber", "Blue", "Crimson", "Golden", "Silver", "Violet", "Green", "Scarlet",
    ];
    let things = [
        "River", "Highway", "Garden", "Harbour", "Mountain", "Window", "Lantern", "Meadow",
    ];
    let bands = [
        "The Rovers",
        "Paper Kites",
        "Tin Drums",
        "Low Tide",
        "Static Hearts",
    ];
    for band in bands {
        for colour in colours {
            for thing in things.iter().take(6) {
                songs.push((band.to_owned(), format!("{colour} {thing}")));
            }
        }
    }
    songs
}
