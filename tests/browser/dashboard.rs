//! The customer dashboard (docs/PAGES.md, "The customer dashboard") in headless Chromium:
//! signing in with an operator's one-time link or a pasted token, a key created, copied,
//! checked against `GET /v1/validate`, rotated and revoked, the audit trail of it, signing
//! out, and a venue's request queue that shows a singer's request without a reload. The
//! pages are found by the ids and classes the dashboard's markup gives them.

use keyward_http::auth::permissions;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Browser, Env, Js, token};

/// What `GET /v1/validate` answers for `secret` (as `X-API-Key`): its status and body.
async fn validate(env: &Env, secret: &str) -> (StatusCode, Value) {
    let answer = env
        .api
        .http
        .get(format!("{}/v1/validate", env.base()))
        .header("X-API-Key", secret)
        .send()
        .await
        .expect("GET /v1/validate");
    let status = answer.status();
    let body = answer.text().await.expect("read /v1/validate's answer");
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// The key id at the end of a key page's path (`/dashboard/keys/{id}`).
fn key_id_of(path: &str) -> String {
    path.strip_prefix("/dashboard/keys/")
        .filter(|id| uuid::Uuid::parse_str(id).is_ok())
        .unwrap_or_else(|| panic!("{path} is not a key page"))
        .to_owned()
}

/// Waits for a page at `{prefix}{uuid}` (a key's or a venue's) and returns its path.
async fn wait_for_page_under(browser: &Browser, prefix: &str) -> String {
    let prefix = prefix.to_owned();
    browser
        .eventually(&format!("a page at {prefix}<id>"), move |client| {
            let prefix = prefix.clone();
            async move {
                let url = client.current_url().await?;
                Ok(url
                    .path()
                    .strip_prefix(prefix.as_str())
                    .is_some_and(|id| uuid::Uuid::parse_str(id).is_ok())
                    .then(|| url.path().to_owned()))
            }
        })
        .await
}

/// Signs in on `/dashboard` by pasting `jwt` into the form; lands on the key list.
async fn sign_in_with_token(browser: &mut Browser, jwt: &str) {
    browser.find("textarea#token").await.clear().await.unwrap();
    browser.type_into("form#sign-in textarea#token", jwt).await;
    browser.click("form#sign-in button#sign-in-submit").await;
    browser.wait_for_path("/dashboard/keys").await;
}

/// From the key list: the create form filled in with `name` and `scopes`, submitted;
/// returns the secret the answer shows in `#secret`.
async fn create_key(browser: &mut Browser, name: &str, scopes: &[&str]) -> String {
    browser.click("a#create-key").await;
    browser.wait_for_path("/dashboard/keys/new").await;
    browser.type_into("form#create-form input#name", name).await;
    for scope in scopes {
        browser
            .click(&format!(
                "form#create-form input[type=checkbox][name=scopes][value='{scope}']"
            ))
            .await;
    }
    browser
        .select("form#create-form select#lifetime", "90")
        .await;
    browser.screenshot("create-form").await;
    browser.click("form#create-form button#create").await;
    let secret = browser.find("input#secret").await;
    let secret = secret
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
        .trim()
        .to_owned();
    assert!(!secret.is_empty(), "#secret is empty");
    secret
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_javascript_a_one_time_link_signs_in_and_a_key_is_created_rotated_and_revoked() {
    let Some(env) = Env::start().await else {
        return;
    };
    let customer = uuid::Uuid::new_v4();
    let mut browser = env.browser(Js::On, "dash-js").await;

    // Nobody signed in: the sign-in page, and the key list sends there.
    browser.open("/dashboard/keys").await;
    browser.wait_for_path("/dashboard").await;
    browser.find("form#sign-in textarea#token").await;
    browser.screenshot("sign-in").await;

    // Opening the operator's link signs nobody in yet (a link preview would not use it
    // up); its button does.
    let link_path = dashboard_link(&env, customer).await;
    browser.open(&link_path).await;
    browser
        .find("form#link-sign-in button#link-sign-in-submit")
        .await;
    browser.screenshot("link").await;
    browser.click("#link-sign-in-submit").await;
    browser.wait_for_path("/dashboard/keys").await;
    browser.find("#no-keys").await;
    browser.screenshot("keys-empty").await;

    let secret = create_and_copy_a_key(&env, &mut browser, customer).await;
    let key_path = open_the_new_key(&mut browser).await;
    let key_id = key_id_of(&key_path);
    let (status, body) = validate(&env, &secret).await;
    assert_eq!(status, StatusCode::OK, "the new key: {body}");
    assert_eq!(body["keyId"], json!(key_id), "{body}");

    let rotated = rotate_without_grace(&env, &mut browser, &key_path, &secret).await;
    revoke_after_confirming(&env, &mut browser, &key_path, &rotated).await;

    // The list shows it revoked.
    browser
        .click(".dashboard-nav a[href='/dashboard/keys']")
        .await;
    browser.wait_for_path("/dashboard/keys").await;
    let row = browser
        .text(&format!("table#keys tr.key[data-key-id='{key_id}']"))
        .await;
    assert!(
        row.contains("Karaoke app") && row.contains("Revoked"),
        "{row:?}"
    );
    browser.screenshot("keys").await;

    visit_the_other_sections(&mut browser, &key_id).await;

    // Signing out: the sign-in page, and the dashboard is closed again.
    browser.click("form.sign-out button#sign-out").await;
    browser.wait_for_path("/dashboard").await;
    browser.find("form#sign-in").await;
    browser.screenshot("signed-out").await;
    browser.open("/dashboard/keys").await;
    browser.wait_for_path("/dashboard").await;
    browser.find("form#sign-in").await;

    // The link worked once.
    browser.open(&link_path).await;
    browser.click("#link-sign-in-submit").await;
    let problem = browser.text("#problem").await;
    assert!(problem.contains("used already"), "#problem: {problem:?}");
    browser.screenshot("link-used").await;
    browser.open("/dashboard/keys").await;
    browser.wait_for_path("/dashboard").await;
    browser.close().await;
}

/// `keyward dashboard-link --customer … --base-url <server>`, run by the real binary on
/// the server's database: its one line of output must be a link to this server, whose
/// path and query this returns.
async fn dashboard_link(env: &Env, customer: uuid::Uuid) -> String {
    let printed = env
        .keyward(&[
            "dashboard-link",
            "--customer",
            &customer.to_string(),
            "--base-url",
            env.base(),
        ])
        .await;
    let link = printed.trim_end_matches('\n');
    assert!(!link.contains('\n'), "more than one line: {printed:?}");
    link.strip_prefix(env.base())
        .filter(|rest| rest.starts_with("/dashboard/link?token="))
        .unwrap_or_else(|| panic!("not a link to {}/dashboard/link: {link:?}", env.base()))
        .to_owned()
}

/// From the key list: a key with two scopes; its secret is shown once, with a Copy
/// button that puts it on the clipboard, and it verifies for `customer` with exactly
/// those scopes.
async fn create_and_copy_a_key(env: &Env, browser: &mut Browser, customer: uuid::Uuid) -> String {
    let secret = create_key(browser, "Karaoke app", &["requests:read", "songdb:read"]).await;
    assert!(
        browser.visible("button#copy-secret").await,
        "the Copy button is hidden with JavaScript on"
    );
    // Writing needs only the click; reading it back below needs the grant.
    browser.grant_clipboard().await;
    browser.click("button#copy-secret").await;
    let status = browser
        .text_when("#copy-status", |text| !text.trim().is_empty())
        .await;
    assert_eq!(status.trim(), "Copied.", "#copy-status");
    assert_eq!(
        browser
            .script("return navigator.clipboard.readText()")
            .await,
        json!(secret),
        "the clipboard does not hold the secret"
    );
    browser.screenshot("key-created").await;
    let (status, body) = validate(env, &secret).await;
    assert_eq!(status, StatusCode::OK, "the new key: {body}");
    assert_eq!(body["customerId"], json!(customer.to_string()), "{body}");
    let mut scopes: Vec<&str> = body["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    scopes.sort_unstable();
    assert_eq!(scopes, ["requests:read", "songdb:read"], "{body}");
    secret
}

/// From the page showing a new secret, `a#to-key` to the key's page (checked); returns
/// its path.
async fn open_the_new_key(browser: &mut Browser) -> String {
    browser.click("a#to-key").await;
    let key_path = wait_for_page_under(browser, "/dashboard/keys/").await;
    assert_eq!(browser.text("#key-name").await, "Karaoke app");
    assert_eq!(browser.text("#key-status").await, "Active");
    let shown_scopes = browser.text("#key-scopes").await;
    assert!(
        shown_scopes.contains("requests:read") && shown_scopes.contains("songdb:read"),
        "#key-scopes: {shown_scopes:?}"
    );
    browser.screenshot("key").await;
    key_path
}

/// On the key's page: rotated with no grace period, a new secret is shown; the old one
/// stops at once and the new one works. Returns the new one.
async fn rotate_without_grace(
    env: &Env,
    browser: &mut Browser,
    key_path: &str,
    secret: &str,
) -> String {
    browser
        .select("form#rotate-form select#gracePeriodSeconds", "0")
        .await;
    browser.click("form#rotate-form button#rotate").await;
    browser.wait_for_path(&format!("{key_path}/rotate")).await;
    let rotated = browser
        .prop("input#secret", "value")
        .await
        .unwrap_or_default()
        .trim()
        .to_owned();
    assert!(!rotated.is_empty(), "#secret is empty after rotating");
    assert_ne!(rotated, secret, "rotating showed the old secret");
    browser.screenshot("key-rotated").await;
    assert_eq!(validate(env, secret).await.0, StatusCode::UNAUTHORIZED);
    let (status, body) = validate(env, &rotated).await;
    assert_eq!(status, StatusCode::OK, "the rotated key: {body}");
    assert_eq!(body["keyId"], json!(key_id_of(key_path)), "{body}");
    rotated
}

/// From the rotated key's page: back to the key, where Revoke asks first; Cancel leaves
/// the key as it is, OK revokes it and `secret` stops working.
async fn revoke_after_confirming(env: &Env, browser: &mut Browser, key_path: &str, secret: &str) {
    browser.click("a#to-key").await;
    browser.wait_for_path(key_path).await;
    browser
        .script("window.__kwMarker = 'same page'; return null")
        .await;
    browser.click("form#revoke-form button#revoke").await;
    let question = browser.answer_dialog(false).await;
    assert!(question.contains("Revoke"), "the dialog asked {question:?}");
    assert_eq!(
        browser.script("return window.__kwMarker").await,
        json!("same page"),
        "Cancel sent the form"
    );
    assert_eq!(browser.text("#key-status").await, "Active");
    assert_eq!(validate(env, secret).await.0, StatusCode::OK);
    browser.click("form#revoke-form button#revoke").await;
    browser.answer_dialog(true).await;
    browser
        .text_when("#key-status", |text| text == "Revoked")
        .await;
    assert_eq!(browser.url().await.path(), key_path);
    // A revoked key can still be deleted, but not rotated or revoked again.
    browser.find("form#delete-form").await;
    assert!(!browser.exists("form#revoke-form").await);
    assert!(!browser.exists("form#rotate-form").await);
    browser.screenshot("key-revoked").await;
    assert_eq!(validate(env, secret).await.0, StatusCode::UNAUTHORIZED);
}

/// Through the navigation: the audit events name the key's creation, rotation and
/// revocation; venues and alerts are empty for this customer.
async fn visit_the_other_sections(browser: &mut Browser, key_id: &str) {
    browser
        .click(".dashboard-nav a[href='/dashboard/audit']")
        .await;
    browser.wait_for_path("/dashboard/audit").await;
    for action in ["api_key.created", "api_key.rotated", "api_key.revoked"] {
        let row = browser
            .text(&format!(
                "table#audit-events tr.event[data-action='{action}']"
            ))
            .await;
        assert!(row.contains(key_id), "{action}: {row:?}");
    }
    browser.screenshot("audit").await;
    browser
        .click(".dashboard-nav a[href='/dashboard/venues']")
        .await;
    browser.wait_for_path("/dashboard/venues").await;
    browser.find("#no-venues").await;
    browser.screenshot("venues-empty").await;
    browser
        .click(".dashboard-nav a[href='/dashboard/alerts']")
        .await;
    browser.wait_for_path("/dashboard/alerts").await;
    browser.find("#no-alerts").await;
    browser.screenshot("alerts").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_javascript_a_pasted_token_signs_in_and_a_key_is_created_and_revoked() {
    let Some(env) = Env::start().await else {
        return;
    };
    let customer = uuid::Uuid::new_v4();
    let mut browser = env.browser(Js::Off, "dash-nojs").await;

    // Something that is not a token is refused beside the field.
    browser.open("/dashboard").await;
    sign_in_refused(&mut browser).await;

    sign_in_with_token(&mut browser, &token(customer, permissions::ALL)).await;
    browser.find("#no-keys").await;
    browser.screenshot("keys-empty").await;

    // The secret is in its field; the Copy button needs JavaScript and stays hidden.
    let secret = create_key(&mut browser, "Jukebox", &["songdb:read", "venues:read"]).await;
    assert!(browser.exists("button#copy-secret").await);
    assert!(
        !browser.visible("button#copy-secret").await,
        "a Copy button that cannot work without JavaScript is shown"
    );
    browser.screenshot("key-created").await;
    let (status, body) = validate(&env, &secret).await;
    assert_eq!(status, StatusCode::OK, "the new key: {body}");
    assert_eq!(body["customerId"], json!(customer.to_string()), "{body}");

    // Revoking is a plain form: no dialog, straight to the revoked key.
    browser.click("a#to-key").await;
    let key_path = wait_for_page_under(&browser, "/dashboard/keys/").await;
    assert_eq!(browser.text("#key-status").await, "Active");
    browser.screenshot("key").await;
    browser.click("form#revoke-form button#revoke").await;
    assert_eq!(
        browser.alert_open().await,
        None,
        "a dialog without JavaScript"
    );
    browser
        .text_when("#key-status", |text| text == "Revoked")
        .await;
    assert_eq!(browser.url().await.path(), key_path);
    browser.screenshot("key-revoked").await;
    assert_eq!(validate(&env, &secret).await.0, StatusCode::UNAUTHORIZED);
    browser.close().await;
}

/// A pasted text that is no token: the sign-in page again, its error beside the field.
async fn sign_in_refused(browser: &mut Browser) {
    browser
        .type_into("form#sign-in textarea#token", "not.a.token")
        .await;
    browser.click("button#sign-in-submit").await;
    let error = browser.text("#token-error").await;
    assert!(!error.trim().is_empty());
    assert_eq!(
        browser
            .attr("textarea#token", "aria-invalid")
            .await
            .as_deref(),
        Some("true")
    );
    assert_eq!(browser.url().await.path(), "/dashboard/sign-in");
    browser.screenshot("sign-in-refused").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_venue_queue_shows_new_requests_without_a_reload() {
    let Some(env) = Env::start().await else {
        return;
    };
    env.api
        .add_songs(&[
            ("ABBA".to_owned(), "Waterloo".to_owned()),
            ("Queen".to_owned(), "Bohemian Rhapsody".to_owned()),
        ])
        .await;
    let venue = env.api.venue("The Rusty Mic", "the-rusty-mic", true).await;
    let mut browser = env.browser(Js::On, "dash-queue").await;
    browser.open("/dashboard").await;
    sign_in_with_token(
        &mut browser,
        &token(env.api.customer, &["api_keys:read", "venues:read"]),
    )
    .await;
    // Without api_keys:write there is nothing to create keys with.
    browser.find("table#keys tr.key").await;
    assert!(!browser.exists("a#create-key").await);

    // The venue list, then the venue's (empty) queue.
    let queue_path = open_the_queue(&mut browser).await;
    assert_eq!(browser.text("#venue-name").await, "The Rusty Mic");
    browser.find("#queue #queue-empty").await;
    browser.screenshot("queue-empty").await;

    // A singer asks while the page is open; it shows up in place, without a reload.
    browser
        .script("window.__kwMarker = 'same page'; return null")
        .await;
    let submitted = env
        .api
        .http
        .post(format!(
            "{}/v1/public/venues/{}/requests",
            env.base(),
            venue.url_name
        ))
        .json(&json!({"singer": "Dana", "artist": "ABBA", "title": "Waterloo", "keyChange": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.status(), StatusCode::CREATED);
    let singers = queue_singers_when(&browser, "Dana's request in the queue", |singers| {
        singers == ["Dana"]
    })
    .await;
    assert_eq!(singers, ["Dana"]);
    let row = browser.text("table#queue-table tr.request").await;
    assert!(row.contains("Waterloo") && row.contains("ABBA"), "{row:?}");
    assert_eq!(
        browser.script("return window.__kwMarker").await,
        json!("same page"),
        "the queue reloaded the page instead of updating it"
    );
    assert_eq!(browser.url().await.path(), queue_path);
    browser.screenshot("queue-live").await;

    // One through the singer page (its link on the queue page), then back to the queue.
    browser.click("main a[href='/v/the-rusty-mic']").await;
    browser.wait_for_path("/v/the-rusty-mic").await;
    browser
        .open(&crate::request_form_path(
            &venue,
            "Queen",
            "Bohemian Rhapsody",
        ))
        .await;
    browser.type_into("input#singer", "Eli").await;
    browser.click("button#submit-request").await;
    browser.wait_for_path("/v/the-rusty-mic").await;
    browser.find("#confirmation").await;
    browser.open(&queue_path).await;
    let singers = queue_singers_when(&browser, "both requests in the queue", |singers| {
        singers.len() == 2
    })
    .await;
    assert_eq!(singers, ["Dana", "Eli"]);
    browser.screenshot("queue").await;
    browser.close().await;
}

/// The singers of the queue's rows, once `ready` accepts them.
async fn queue_singers_when(
    browser: &Browser,
    what: &str,
    ready: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    browser
        .eventually(what, |client| {
            let ready = &ready;
            async move {
                let mut singers = Vec::new();
                for cell in client
                    .find_all(fantoccini::Locator::Css(
                        "#queue table#queue-table tr.request td.singer",
                    ))
                    .await?
                {
                    singers.push(cell.text().await?);
                }
                Ok(ready(&singers).then_some(singers))
            }
        })
        .await
}

/// From any dashboard page: the venue list shows "The Rusty Mic" and its singer page;
/// its name leads to its queue page, whose path this returns.
async fn open_the_queue(browser: &mut Browser) -> String {
    browser
        .click(".dashboard-nav a[href='/dashboard/venues']")
        .await;
    browser.wait_for_path("/dashboard/venues").await;
    let row = browser.text("table#venues tbody tr").await;
    assert!(
        row.contains("The Rusty Mic") && row.contains("/v/the-rusty-mic"),
        "{row:?}"
    );
    browser.screenshot("venues").await;
    browser
        .find("table#venues")
        .await
        .find(fantoccini::Locator::LinkText("The Rusty Mic"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_page_under(browser, "/dashboard/venues/").await
}
