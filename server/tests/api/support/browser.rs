//! A minimal browser for API tests: it keeps the session cookie by hand (so tests can read
//! and replay it) and posts server-function forms.

use reqwest::header::{COOKIE, HeaderMap, SET_COOKIE};
use reqwest::{Client, Response};

pub struct Browser {
    base: String,
    client: Client,
    /// `name=value` of the session cookie, as the last response set it.
    pub cookie: Option<String>,
    /// Headers sent with every request (Origin, Sec-Fetch-Site, X-Forwarded-For…).
    pub headers: HeaderMap,
}

impl Browser {
    pub fn new(base: &str) -> Self {
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // A request that hangs fails the test with its own message instead of
            // stalling the whole suite.
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("a client");
        Self::with_client(base, client)
    }

    /// A browser on a client of the caller's (one trusting a test CA, for https).
    pub fn with_client(base: &str, client: Client) -> Self {
        Self {
            base: base.to_owned(),
            client,
            cookie: None,
            headers: HeaderMap::new(),
        }
    }

    /// POSTs a form to a server function endpoint (`/api/{endpoint}`).
    pub async fn call(&mut self, endpoint: &str, form: &[(&str, &str)]) -> Response {
        let url = format!("{}/api/{endpoint}", self.base);
        let request = self
            .client
            .post(url)
            .headers(self.headers.clone())
            .form(form);
        self.send(request).await
    }

    /// Like [`Browser::call`], but a server that is not answering is `None`, not a panic.
    pub async fn try_call(&mut self, endpoint: &str, form: &[(&str, &str)]) -> Option<Response> {
        let url = format!("{}/api/{endpoint}", self.base);
        let mut request = self
            .client
            .post(url)
            .headers(self.headers.clone())
            .form(form);
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        request.send().await.ok()
    }

    pub async fn get(&mut self, path: &str) -> Response {
        let request = self
            .client
            .get(format!("{}{path}", self.base))
            .headers(self.headers.clone());
        self.send(request).await
    }

    pub async fn send(&mut self, mut request: reqwest::RequestBuilder) -> Response {
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        let response = request.send().await.expect("the server answers");
        if let Some(set) = response.headers().get(SET_COOKIE) {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap().to_owned();
            self.cookie = if pair.ends_with('=') {
                None
            } else {
                Some(pair)
            };
        }
        response
    }

    /// Creates an account and keeps its session.
    pub async fn register(&mut self, username: &str, password: &str) -> Response {
        let form = [
            ("username", username),
            ("display_name", username),
            ("password", password),
        ];
        self.call("register", &form).await
    }

    pub async fn sign_in(&mut self, username: &str, password: &str) -> Response {
        let form = [("username", username), ("password", password)];
        self.call("sign_in", &form).await
    }

    /// The signed-in user as `/api/me` reports it (`null` when signed out).
    pub async fn me(&mut self) -> serde_json::Value {
        let response = self.call("me", &[]).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }
}
